import { type BulkWriteResult, type Collection, MongoBulkWriteError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { IdentityLink } from '../../domain/precedence.js';
import { type MongoContext } from './mongo-context.js';
import { readLinks, writeLinks } from './mongo-identity-graph.js';
import type { Doc } from './mongo-tail.js';

/** identity_links in memory, counting the commands a server would receive. */
function fakeLinks() {
  const docs = new Map<string, Doc>();
  const calls = { insert: 0, find: 0, update: 0 };
  const collection = {
    async insertMany(batch: Doc[]) {
      calls.insert += 1;
      const writeErrors: Array<{ code: number; index: number }> = [];
      batch.forEach((doc, index) => {
        if (docs.has(doc._id as string)) writeErrors.push({ code: 11000, index });
        else docs.set(doc._id as string, { ...doc });
      });
      if (writeErrors.length > 0) throw new MongoBulkWriteError({ message: 'E11000 duplicate key', code: 11000, writeErrors } as never, {} as BulkWriteResult);
      return { insertedCount: batch.length };
    },
    find(filter: { _id: { $in: string[] } }) {
      calls.find += 1;
      return { toArray: async () => filter._id.$in.flatMap((id) => (docs.has(id) ? [{ ...docs.get(id)! }] : [])) };
    },
    async bulkWrite(operations: Array<{ updateOne: { filter: Doc; update: { $set: Doc } } }>) {
      calls.update += 1;
      for (const { updateOne } of operations) {
        const stored = docs.get(updateOne.filter._id as string);
        if (stored && stored.eventTime === updateOne.filter.eventTime && stored.messageId === updateOne.filter.messageId) Object.assign(stored, updateOne.update.$set);
      }
    },
  };
  const ctx = { ferret: false, knownLinks: new Map(), c: { links: collection as unknown as Collection<Doc> } } as unknown as MongoContext;
  return { ctx, docs, calls };
}

const link = (to: string, time: number, messageId: string): IdentityLink => ({ to, time, messageId });

describe('identity links on MongoDB', () => {
  it('sends nothing for a link no earlier than one this process saw stored, and still stores an earlier one', async () => {
    const { ctx, docs, calls } = fakeLinks();
    await writeLinks(ctx, new Map([['a1', link('u1', 10, 'm1')]]));
    expect(calls).toEqual({ insert: 1, find: 0, update: 0 });

    // The same link again, and a later one: the stored link wins either way, so no command is sent.
    await writeLinks(ctx, new Map([['a1', link('u1', 10, 'm1')]]));
    await writeLinks(ctx, new Map([['a1', link('u2', 20, 'm2')]]));
    expect(calls).toEqual({ insert: 1, find: 0, update: 0 });

    // An earlier link replaces the stored one.
    await writeLinks(ctx, new Map([['a1', link('u3', 5, 'm0')]]));
    expect(docs.get('a1')).toMatchObject({ to: 'u3', eventTime: 5, messageId: 'm0' });
    // Now the link at 10 is no longer the earliest: still nothing to write for it.
    const before = { ...calls };
    await writeLinks(ctx, new Map([['a1', link('u1', 10, 'm1')]]));
    expect(calls).toEqual(before);
    expect(docs.get('a1')).toMatchObject({ to: 'u3' });
  });

  it('compares with what another process stored, which it learns by reading', async () => {
    const { ctx, docs, calls } = fakeLinks();
    docs.set('a1', { _id: 'a1', to: 'u9', eventTime: 1, messageId: 'm9' });
    await writeLinks(ctx, new Map([['a1', link('u1', 10, 'm1')]]));
    expect(docs.get('a1')).toMatchObject({ to: 'u9' });
    const after = { ...calls };
    await writeLinks(ctx, new Map([['a1', link('u2', 2, 'm2')]]));
    expect(calls).toEqual(after);
    expect((await readLinks(ctx, ['a1'])).get('a1')).toEqual(link('u9', 1, 'm9'));
  });
});
