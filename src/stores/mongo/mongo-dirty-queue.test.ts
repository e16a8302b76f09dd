import type { Collection } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { MongoContext } from './mongo-context.js';
import { createMongoDirtyQueue } from './mongo-dirty-queue.js';
import type { Doc } from './mongo-tail.js';

/** dirty_ids in memory, counting the documents a server would hold. */
function fakeDirty() {
  const docs = new Map<string, Doc>();
  const collection = {
    async insertMany(batch: Doc[]) {
      for (const doc of batch) docs.set(doc._id as string, structuredClone(doc));
      return { insertedCount: batch.length };
    },
    find() {
      const sorted = () => [...docs.values()].sort((a, b) => ((a._id as string) < (b._id as string) ? -1 : 1)).map((doc) => structuredClone(doc));
      return { sort: () => ({ toArray: async () => sorted() }) };
    },
    async deleteMany(filter: { _id: { $in: string[] } }) {
      for (const id of filter._id.$in) docs.delete(id);
    },
  };
  const ctx = { ferret: true, c: { dirty: collection as unknown as Collection<Doc> } } as unknown as MongoContext;
  return { queue: createMongoDirtyQueue(ctx, async () => {}), docs };
}

describe('dirty marks on MongoDB: one document per write', () => {
  it('keeps what is not cleared, and marks written after a listing, when a document is cleared in parts', async () => {
    const { queue, docs } = fakeDirty();
    await queue.markDirty(['u3', 'u1', 'u2']);
    expect(docs.size).toBe(1);

    const first = await queue.listDirtyIds(2);
    expect(first).toHaveLength(2);
    // Another writer marks one of the listed ids again meanwhile: that mark must survive.
    const remarked = first[0]!.id;
    await queue.markDirty([remarked]);

    await queue.clearDirtyIds([first[0]!]);
    await queue.clearDirtyIds([first[1]!]);
    const unlisted = ['u1', 'u2', 'u3'].find((id) => !first.some((d) => d.id === id))!;
    expect((await queue.listDirtyIds(10)).map((d) => d.id)).toEqual([remarked, unlisted].sort());

    await queue.clearDirtyIds(await queue.listDirtyIds(10));
    expect(await queue.listDirtyIds(10)).toEqual([]);
    expect(docs.size).toBe(0);
  });

  it('reads documents of one id each, as stored before', async () => {
    const { queue, docs } = fakeDirty();
    docs.set('a1\u00017', { _id: 'a1\u00017', id: 'a1', mark: 7 });
    await queue.markDirty(['a1', 'b1']);
    const listed = await queue.listDirtyIds(10);
    expect(listed.map((d) => d.id)).toEqual(['a1', 'b1']);
    await queue.clearDirtyIds(listed);
    expect(docs.size).toBe(0);
  });
});
