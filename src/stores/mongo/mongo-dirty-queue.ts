import { randomInt } from 'node:crypto';
import type { DirtyId, DirtyQueue } from '../ports/dirty-queue.js';
import { chunks, guard, IN_CHUNK, insertNew, type MongoContext } from './mongo-context.js';

/** How often a derivation round looks for intents of writers that are gone. */
const SWEEP_EVERY_MS = 30_000;

export function markKey(dirty: DirtyId): string {
  return `${dirty.id}\u0001${dirty.mark}`;
}

/** One immutable mark document per id, under a random generation per write (unique without a shared counter: no read-modify-write). */
export async function insertMarks(ctx: MongoContext, ids: ReadonlySet<string>): Promise<void> {
  if (ids.size === 0) return;
  const mark = randomInt(1, 2 ** 48);
  await insertNew(
    ctx.c.dirty,
    [...ids].map((id) => ({ _id: markKey({ id, mark }), id, mark })),
  );
}

/**
 * The dirty queue. Derivation starts at listDirtyIds, so that is where marks left out by writers
 * that are gone are first put back (`repairGone`, see mongo-batch-writer.ts).
 */
export function createMongoDirtyQueue(ctx: MongoContext, repairGone: () => Promise<void>): DirtyQueue {
  /** Mark documents behind each entry listDirtyIds handed out, until it is cleared. */
  const listedMarks = new Map<string, string[]>();
  let lastSweep = 0;
  return {
    /**
     * One entry per id. An id marked by several writes has one document per mark; the entry stands
     * for exactly the documents read now (remembered here), so clearing it can never remove a mark
     * written after this read.
     */
    async listDirtyIds(limit: number): Promise<DirtyId[]> {
      return guard(ctx, 'list dirty ids', async () => {
        if (Date.now() - lastSweep >= SWEEP_EVERY_MS) {
          await repairGone();
          lastSweep = Date.now();
        }
        const docs = await ctx.c.dirty
          .find({}, { projection: { id: 1, mark: 1 } })
          .sort({ _id: 1 })
          .limit(limit)
          .toArray();
        const entries = new Map<string, { mark: number; keys: string[] }>();
        for (const doc of docs) {
          const entry = entries.get(doc.id as string);
          if (entry) entry.keys.push(doc._id as string);
          else entries.set(doc.id as string, { mark: doc.mark as number, keys: [doc._id as string] });
        }
        for (const [id, entry] of entries) listedMarks.set(markKey({ id, mark: entry.mark }), entry.keys);
        return [...entries].map(([id, entry]) => ({ id, mark: entry.mark }));
      });
    },
    async markDirty(ids: readonly string[]): Promise<void> {
      await guard(ctx, 'mark ids dirty', () => insertMarks(ctx, new Set(ids)));
    },
    async clearDirtyIds(ids: readonly DirtyId[]): Promise<void> {
      await guard(ctx, 'clear dirty ids', async () => {
        const keys: string[] = [];
        for (const dirty of ids) {
          const key = markKey(dirty);
          keys.push(...(listedMarks.get(key) ?? [key]));
          listedMarks.delete(key);
        }
        for (const chunk of chunks(keys, IN_CHUNK)) await ctx.c.dirty.deleteMany({ _id: { $in: chunk } });
      });
    },
  };
}
