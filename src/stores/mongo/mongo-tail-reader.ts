import type { TailReader } from '../ports/tail-reader.js';
import { guard, type MongoContext } from './mongo-context.js';
import { toRejected, toTailedFields } from './mongo-docs.js';
import { eventWheresMatch, rejectedLineMatches } from '../tail-match.js';
import { commonFilter, type Doc, maxSeq, parseMongoTailCursor, tailPage } from './mongo-tail.js';

/** The TailReader port over mongo-tail.ts's paging. */
export function createMongoTailReader(ctx: MongoContext): TailReader {
  const { c } = ctx;
  return {
    async tailEvents(after, filter, limit) {
      const start = parseMongoTailCursor(after);
      const query = commonFilter(filter);
      if (filter.ids !== undefined) {
        const ids = [...filter.ids];
        query.$or = [{ userId: { $in: ids } }, { anonymousId: { $in: ids } }, { previousId: { $in: ids } }];
      }
      const wheres = filter.where ?? [];
      const accept = wheres.length === 0 ? null : (doc: Doc) => eventWheresMatch(doc as unknown as { propertiesJson: string; traitsJson: string; raw: string }, wheres);
      return guard(ctx, 'tail events', () => tailPage(start, limit, { collection: c.events, filter: query, accept, map: (doc) => ({ ...toTailedFields(doc), raw: doc.raw as string }) }));
    },

    async tailRejected(after, filter, limit) {
      const start = parseMongoTailCursor(after);
      const wheres = filter.where ?? [];
      const ids = filter.ids;
      // A refused line may not be JSON at all: ids and values match only lines that are.
      const accept = wheres.length === 0 && ids === undefined ? null : (doc: Doc) => rejectedLineMatches(doc.raw as string, ids, wheres);
      return guard(ctx, 'tail rejected lines', () => tailPage(start, limit, { collection: c.rejected, filter: commonFilter(filter), accept, map: toRejected }));
    },

    async tailEnd(kind) {
      return guard(ctx, 'find the end of the store', async () => String(await maxSeq(kind === 'events' ? c.events : c.rejected)));
    },
  };
}
