import type { Filter } from 'mongodb';
import type { Correction } from '../../domain/correction.js';
import type { CorrectionLog } from '../ports/correction-log.js';
import { isDuplicateKey } from './mongo-connection.js';
import { CAS_ROUNDS, chunks, compareBinary, findByIds, guard, IN_CHUNK, type MongoContext } from './mongo-context.js';
import type { Doc } from './mongo-tail.js';

export function createMongoCorrectionLog(ctx: MongoContext): CorrectionLog {
  const { c } = ctx;
  return {
    async appendCorrection(correction) {
      return guard(ctx, 'append a correction', async () => {
        // Append-only: the next number is claimed by inserting it (a unique _id), never by updating.
        for (let round = 0; round < CAS_ROUNDS; round += 1) {
          const [last] = await c.corrections
            .find({}, { projection: { _id: 1 } })
            .sort({ _id: -1 })
            .limit(1)
            .toArray();
          const seq = (typeof last?._id === 'number' ? last._id : 0) + 1;
          const stored: Correction = { id: `c${seq}`, ...correction };
          try {
            await c.corrections.insertOne({ _id: seq, doc: JSON.stringify(stored) });
            return stored;
          } catch (error) {
            if (!isDuplicateKey(error)) throw error;
          }
        }
        throw new Error('corrections kept being appended concurrently');
      });
    },
    async listCorrections() {
      return guard(ctx, 'list corrections', async () => (await c.corrections.find({}).sort({ _id: 1 }).toArray()).map((doc) => JSON.parse(doc.doc as string) as Correction));
    },
    async identityKeysForEvents(filter) {
      return guard(ctx, 'find events', async () => {
        const query: Filter<Doc> = {};
        if (filter.event !== undefined) query.event = { $eq: filter.event };
        if (filter.appVersion !== undefined) query.appVersion = { $eq: filter.appVersion };
        if (filter.since !== undefined || filter.until !== undefined) {
          query.eventTime = { ...(filter.since !== undefined ? { $gte: filter.since } : {}), ...(filter.until !== undefined ? { $lt: filter.until } : {}) };
        }
        if (filter.userId !== undefined) {
          const members = (await c.identityMap.find({ canonical: { $eq: filter.userId } }, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id as string);
          query.identityKey = { $in: [...new Set([...members, filter.userId])] };
        }
        return ((await c.events.distinct('identityKey', query)) as string[]).sort(compareBinary);
      });
    },
    async identityKeysOfMessages(messageIds) {
      return guard(ctx, 'find events', async () => {
        const keys = new Map<string, string>();
        for (const chunk of chunks(messageIds, IN_CHUNK)) {
          for (const doc of await findByIds(ctx, c.events, chunk, { identityKey: 1 })) keys.set(doc._id as string, doc.identityKey as string);
        }
        return keys;
      });
    },
  };
}
