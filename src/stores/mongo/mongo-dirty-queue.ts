import { randomInt } from 'node:crypto';
import type { DirtyId, DirtyQueue } from '../ports/dirty-queue.js';
import { chunks, compareBinary, guard, IN_CHUNK, insertNew, type MongoContext } from './mongo-context.js';
import type { Doc } from './mongo-tail.js';

/** How often a derivation round looks for intents of writers that are gone. */
const SWEEP_EVERY_MS = 30_000;

export function markKey(dirty: DirtyId): string {
  return `${dirty.id}\u0001${dirty.mark}`;
}

/**
 * One immutable mark document per write, holding all its ids under a random generation (unique
 * without a shared counter: no read-modify-write). On FerretDB every document costs a statement to
 * insert and a row to scan and delete, and a batch marks thousands of ids (docs/decisions/0020).
 * Documents of one id each (`id`, from before) are read alike.
 */
export async function insertMarks(ctx: MongoContext, ids: ReadonlySet<string>): Promise<void> {
  if (ids.size === 0) return;
  const mark = randomInt(1, 2 ** 48);
  const docs = [...chunks([...ids], IDS_PER_MARK_DOC)].map((part, index) => ({ _id: `\u0002${mark}.${index}`, ids: part, mark }));
  await insertNew(ctx.c.dirty, docs);
}

/** Ids per mark document: 256-character ids keep one far below MongoDB's 16 MiB. */
const IDS_PER_MARK_DOC = 5_000;

/** The ids a mark document holds (a document per write: `ids`; one per id, from before: `id`). */
export function idsOfMarkDoc(doc: Doc): string[] {
  return Array.isArray(doc.ids) ? (doc.ids as string[]) : [doc.id as string];
}

/**
 * The dirty queue. Derivation starts at listDirtyIds, so that is where marks left out by writers
 * that are gone are first put back (`repairGone`, see mongo-batch-writer.ts).
 */
export function createMongoDirtyQueue(ctx: MongoContext, repairGone: () => Promise<void>): DirtyQueue {
  /** Per entry listDirtyIds handed out, until it is cleared: the mark documents it stands for. */
  const listedMarks = new Map<string, string[]>();
  /** Every id of each mark document listed (a document partly cleared is rewritten with the rest). */
  const listedDocs = new Map<string, { ids: string[]; mark: number }>();
  /** The listed entry (its listedMarks key) of each id. */
  const entryOf = new Map<string, string>();
  let lastSweep = 0;
  return {
    /**
     * One entry per id, at most `limit`, in id order. An id marked by several writes is in several
     * documents; the entry stands for exactly the documents read now (remembered here), so
     * clearing it can never remove a mark written after this read.
     */
    async listDirtyIds(limit: number): Promise<DirtyId[]> {
      return guard(ctx, 'list dirty ids', async () => {
        if (Date.now() - lastSweep >= SWEEP_EVERY_MS) {
          await repairGone();
          lastSweep = Date.now();
        }
        const docs = await ctx.c.dirty
          .find({}, { projection: { id: 1, ids: 1, mark: 1 } })
          .sort({ _id: 1 })
          .toArray();
        const entries = new Map<string, { mark: number; keys: string[] }>();
        for (const doc of docs) {
          const key = doc._id as string;
          const ids = idsOfMarkDoc(doc);
          listedDocs.set(key, { ids, mark: doc.mark as number });
          for (const id of ids) {
            const entry = entries.get(id);
            if (entry) entry.keys.push(key);
            else if (entries.size < limit) entries.set(id, { mark: doc.mark as number, keys: [key] });
          }
        }
        for (const [id, entry] of entries) {
          const key = markKey({ id, mark: entry.mark });
          listedMarks.set(key, entry.keys);
          entryOf.set(id, key);
        }
        return [...entries].map(([id, entry]) => ({ id, mark: entry.mark })).sort((a, b) => compareBinary(a.id, b.id));
      });
    },
    async markDirty(ids: readonly string[]): Promise<void> {
      await guard(ctx, 'mark ids dirty', () => insertMarks(ctx, new Set(ids)));
    },
    async clearDirtyIds(ids: readonly DirtyId[]): Promise<void> {
      await guard(ctx, 'clear dirty ids', async () => {
        // Per mark document, the ids cleared from it.
        const cleared = new Map<string, Set<string>>();
        const legacy: string[] = [];
        for (const dirty of ids) {
          const key = markKey(dirty);
          const keys = listedMarks.get(key);
          listedMarks.delete(key);
          if (entryOf.get(dirty.id) === key) entryOf.delete(dirty.id);
          if (keys === undefined) legacy.push(key);
          for (const doc of keys ?? []) (cleared.get(doc) ?? cleared.set(doc, new Set()).get(doc)!).add(dirty.id);
        }
        const gone = [...legacy];
        const rest: Doc[] = [];
        for (const [key, done] of cleared) {
          const listed = listedDocs.get(key);
          listedDocs.delete(key);
          gone.push(key);
          const left = listed === undefined ? [] : listed.ids.filter((id) => !done.has(id));
          if (left.length === 0) continue;
          // The ids not cleared go back as a document of their own before this one goes; entries
          // listed from it and not cleared yet now stand for the new one.
          const rewritten = `${key}.${randomInt(1, 2 ** 48)}`;
          rest.push({ _id: rewritten, ids: left, mark: listed!.mark });
          listedDocs.set(rewritten, { ids: left, mark: listed!.mark });
          for (const id of left) {
            const keys = listedMarks.get(entryOf.get(id) ?? '');
            const at = keys?.indexOf(key) ?? -1;
            if (at >= 0) keys![at] = rewritten;
          }
        }
        await insertNew(ctx.c.dirty, rest);
        for (const chunk of chunks(gone, IN_CHUNK)) await ctx.c.dirty.deleteMany({ _id: { $in: chunk } });
      });
    },
  };
}
