import type { Filter } from 'mongodb';
import type { RejectedLine, StoredEvent } from '../../domain/event.js';
import type { EventLog, StoredLine } from '../ports/event-log.js';
import { chunks, compareBinary, guard, IN_CHUNK, type MongoContext, stream } from './mongo-context.js';
import { toRejected, toStoredEvent } from './mongo-docs.js';
import type { Doc } from './mongo-tail.js';

/** Adds the copies matching `filter` to `counts`, per message id. */
export async function countCopies(ctx: MongoContext, filter: Filter<Doc>, counts: Map<string, number>): Promise<Map<string, number>> {
  for await (const doc of ctx.c.copies.find(filter, { projection: { messageId: 1 } })) counts.set(doc.messageId as string, (counts.get(doc.messageId as string) ?? 0) + 1);
  return counts;
}

/** Distinct lines of those of these message ids that were retried with other bytes (by the copies' messageId index). */
async function copiesOf(ctx: MongoContext, messageIds: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const chunk of chunks(messageIds, IN_CHUNK)) await countCopies(ctx, { messageId: { $in: chunk } }, counts);
  return counts;
}

/** The reading half of the event log (the writing half is mongo-batch-writer.ts). */
export function createMongoEventReads(ctx: MongoContext): Omit<EventLog, 'writeBatch' | 'writeEncodedBatch'> {
  const { c } = ctx;
  return {
    async eventsByIdentity(identityKeys: readonly string[]): Promise<StoredEvent[]> {
      return guard(ctx, 'read events', async () => {
        const events: StoredEvent[] = [];
        const projection = { identityKey: 1, userId: 1, anonymousId: 1, type: 1, event: 1, eventTime: 1, receivedAt: 1, timeSource: 1, skewMs: 1, appVersion: 1, propertiesJson: 1, traitsJson: 1 };
        for (const chunk of chunks(identityKeys, IN_CHUNK)) {
          const docs = await c.events.find({ identityKey: { $in: chunk } }, { projection }).toArray();
          const copies = await copiesOf(
            ctx,
            docs.map((doc) => doc._id as string),
          );
          for (const doc of docs) events.push(toStoredEvent(doc, copies.get(doc._id as string) ?? 1));
        }
        return events;
      });
    },
    async rawLinesByIdentity(identityKeys: readonly string[]): Promise<StoredLine[]> {
      return guard(ctx, 'read stored lines', async () => {
        const lines: StoredLine[] = [];
        for (const chunk of chunks(identityKeys, IN_CHUNK)) {
          const docs = await c.events.find({ identityKey: { $in: chunk } }, { projection: { raw: 1, receivedAt: 1 } }).toArray();
          const copies = await copiesOf(
            ctx,
            docs.map((doc) => doc._id as string),
          );
          for (const doc of docs) lines.push({ raw: doc.raw as string, receivedAt: doc.receivedAt as number, copies: copies.get(doc._id as string) ?? 1 });
        }
        return lines;
      });
    },
    async identityKeysInRange(range) {
      return guard(ctx, 'find identity keys by time', async () => ((await c.events.distinct('identityKey', { eventTime: { $gte: range.from, $lt: range.to } })) as string[]).sort(compareBinary));
    },
    async *streamRejected(range): AsyncIterable<RejectedLine> {
      const filter = { receivedAt: { $gte: range.from ?? 0, $lt: range.to ?? Number.MAX_SAFE_INTEGER } };
      yield* stream(ctx, 'read rejected lines', c.rejected.find(filter).sort({ receivedAt: 1, _id: 1 }), toRejected);
    },
  };
}
