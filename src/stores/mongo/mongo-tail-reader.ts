import type { TailReader } from '../ports/tail-reader.js';
import { guard, type MongoContext } from './mongo-context.js';
import { toRejected, toTailedFields } from './mongo-docs.js';
import { commonFilter, type Doc, maxSeq, parseJsonObject, parseMongoTailCursor, tailPage, whereMatches } from './mongo-tail.js';

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
      const accept =
        wheres.length === 0
          ? null
          : (doc: Doc) =>
              wheres.every((where) => {
                const root = where.path[0];
                if (root === 'properties') return whereMatches(parseJsonObject(doc.propertiesJson as string), where, true);
                if (root === 'traits') return whereMatches(parseJsonObject(doc.traitsJson as string), where, true);
                if (root === 'context') return whereMatches(parseJsonObject(doc.raw as string), where, false);
                return false;
              });
      return guard(ctx, 'tail events', () => tailPage(start, limit, { collection: c.events, filter: query, accept, map: (doc) => ({ ...toTailedFields(doc), raw: doc.raw as string }) }));
    },

    async tailRejected(after, filter, limit) {
      const start = parseMongoTailCursor(after);
      const wheres = filter.where ?? [];
      const ids = filter.ids;
      const accept =
        wheres.length === 0 && ids === undefined
          ? null
          : (doc: Doc) => {
              // A refused line may not be JSON at all: ids and values match only lines that are.
              const line = parseJsonObject(doc.raw as string);
              if (line === null) return false;
              if (ids !== undefined && !ids.some((id) => id === line.userId || id === line.anonymousId)) return false;
              return wheres.every((where) => ['properties', 'context', 'traits'].includes(where.path[0] ?? '') && whereMatches(line, where, false));
            };
      return guard(ctx, 'tail rejected lines', () => tailPage(start, limit, { collection: c.rejected, filter: commonFilter(filter), accept, map: toRejected }));
    },

    async tailEnd(kind) {
      return guard(ctx, 'find the end of the store', async () => String(await maxSeq(kind === 'events' ? c.events : c.rejected)));
    },
  };
}
