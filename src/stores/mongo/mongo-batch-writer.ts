import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RejectedLine } from '../../domain/event.js';
import { type IdentityLink, isEarlierCopy, noteLinksOf } from '../../domain/precedence.js';
import { isHolderAlive } from '../lease.js';
import { type EncodedEvent, encodeEvent, type EventLog, type WriteBatchResult } from '../ports/event-log.js';
import { allocate, bulkUpdate, CAS_ROUNDS, chunks, findByIds, guard, IN_CHUNK, insertNew, type MongoContext } from './mongo-context.js';
import { insertMarks } from './mongo-dirty-queue.js';
import { COPY_PROJECTION, type CopyDoc, type EventDoc, toDoc } from './mongo-docs.js';
import { writeLinks } from './mongo-identity-graph.js';
import type { Doc } from './mongo-tail.js';

/**
 * ## Writing a batch without a transaction
 * SQLite stores a batch in one transaction. This adapter uses none (FerretDB has none, and a
 * replica set is not required), so every write is idempotent and the writes are ordered:
 *
 *   0. an *intent* document lists the batch's message ids (and who writes them);
 *   1. events: the earliest copy of each message id is inserted (`_id` = messageId, so an insert
 *      is an atomic insert-if-absent); an earlier copy replaces a stored one by compare-and-swap
 *      on the stored copy's (receivedAt, rawHash), keeping its arrival `seq` and recording the
 *      ids the old copy was filed under (`supersededIds`);
 *   2. distinct copies of a message id (for duplicate_storm), insert-if-absent;
 *   3. identity links: the earliest link per from-id (insert-if-absent, else compare-and-swap);
 *   4. dirty marks: one immutable document per (id, mark), a random mark per write;
 *   5. the intent is deleted.
 *
 * Marks come after the events they cover, so a derivation that reads a mark finds the events (a
 * mark written first could be read and cleared by a concurrent derivation before the events
 * land, and those events would never be derived). A crash between 1 and 5 leaves the intent: the
 * next write whose batch overlaps it (the re-delivery: a Kafka offset is committed only after
 * writeBatch returns, a file is run again) or the next derivation round (for a writer that is
 * provably gone: dead pid on this host, or an intent older than an hour) *repairs* it: for every
 * message id it lists, the stored copy's links are written and its ids (and `supersededIds`)
 * marked; both are idempotent. So re-ingesting identical lines changes nothing (as in SQLite),
 * yet nothing a crashed batch stored goes underived.
 *
 * Marks being immutable documents keyed by (id, mark), clearing one generation never deletes a
 * newer one (FerretDB runs a conditional delete as read-then-delete by `_id`, so one document per
 * id whose mark is overwritten could lose a re-mark).
 */

/** An intent this old is repaired and removed whoever wrote it (its writer cannot still be at it). */
const INTENT_STALE_MS = 3_600_000;
const hostnameOfThisMachine = hostname();
const processStartedAt = Date.now();

type IntentDoc = {
  _id: string;
  messageIds: string[];
  pid: number;
  hostname: string;
  startedAt: number;
  at: number;
};

/** Replaceable steps, for tests that make a write fail part-way (a connection lost after the events landed). */
export interface MongoWriteSeams {
  insertMarks?: (ids: ReadonlySet<string>) => Promise<void>;
}

export interface MongoBatchWriter {
  writes: Pick<EventLog, 'writeBatch' | 'writeEncodedBatch'>;
  /**
   * Repairs intents left by writes that did not finish: those `overlaps` selects, this process's
   * own failed ones, and any whose writer is provably gone. Repaired intents of writers that may
   * still be running are kept; their writer removes them.
   */
  repairIntents(overlaps: (intent: { messageIds: string[] }) => boolean): Promise<void>;
}

export function createMongoBatchWriter(ctx: MongoContext, seams: MongoWriteSeams = {}): MongoBatchWriter {
  const { c } = ctx;
  /** Intents of this process's writes that failed part-way: repaired by the next overlapping write. */
  const failedIntents = new Set<string>();

  const readCopies = async (ids: readonly string[]): Promise<Map<string, CopyDoc>> => {
    const copies = new Map<string, CopyDoc>();
    for (const chunk of chunks(ids, IN_CHUNK)) {
      for (const doc of await findByIds(ctx, c.events, chunk, COPY_PROJECTION)) copies.set(doc._id as string, doc as unknown as CopyDoc);
    }
    return copies;
  };

  /** Writes the links of these stored copies and marks every id they are (or were) filed under. */
  const linkAndMark = async (stored: readonly CopyDoc[]): Promise<void> => {
    const links = new Map<string, IdentityLink>();
    const dirty = new Set<string>();
    for (const w of stored) {
      for (const key of [w.identityKey, w.anonymousId, w.previousId, ...(w.supersededIds ?? [])]) if (key) dirty.add(key);
      noteLinksOf(links, { ...w, messageId: w._id });
    }
    await writeLinks(ctx, links);
    await (seams.insertMarks ?? ((ids) => insertMarks(ctx, ids)))(dirty);
  };

  const repairIntents = async (overlaps: (intent: IntentDoc) => boolean): Promise<void> => {
    const intents = (await c.intents.find({}).toArray()) as unknown as IntentDoc[];
    const now = Date.now();
    for (const intent of intents) {
      const own = intent.pid === process.pid && intent.hostname === hostnameOfThisMachine && intent.startedAt === processStartedAt;
      const failed = failedIntents.has(intent._id);
      if (own && !failed) continue; // in flight in this process
      const gone = failed || now - intent.at > INTENT_STALE_MS || !isHolderAlive({ pid: intent.pid, hostname: intent.hostname });
      if (!gone && !overlaps(intent)) continue;
      const stored = await readCopies(intent.messageIds);
      await linkAndMark([...stored.values()]);
      if (gone) {
        await c.intents.deleteOne({ _id: intent._id });
        failedIntents.delete(intent._id);
      }
    }
  };

  const writeEvents = async (accepted: readonly EncodedEvent[], ingestedAt: number, result: WriteBatchResult): Promise<void> => {
    // The copies of each message id in this batch, in arrival order, and the earliest of them.
    const copies = new Map<string, EncodedEvent[]>();
    for (const event of accepted) {
      const list = copies.get(event.messageId);
      if (list) list.push(event);
      else copies.set(event.messageId, [event]);
    }
    const best = new Map<string, EncodedEvent>();
    for (const [id, list] of copies)
      best.set(
        id,
        list.reduce((a, b) => (isEarlierCopy(b, a) ? b : a)),
      );

    // 1. Insert-if-absent of each message's best copy; those stored already come back.
    let seq = (await allocate(ctx, 'event_seq', best.size)) - best.size;
    const docs = [...best.values()].map((event) => toDoc(event, ++seq, ingestedAt));
    const existing = await insertNew(c.events, docs);
    const storedBefore = await readCopies([...existing]);
    const winners = new Map<string, CopyDoc>();
    /** Message ids whose stored copy or copy count changed: their ids are marked and their links written. */
    const touched = new Set<string>();
    for (const doc of docs) {
      if (!existing.has(doc._id)) {
        winners.set(doc._id, doc);
        touched.add(doc._id);
      }
    }

    // An earlier copy replaces the stored one (compare-and-swap); otherwise the stored copy stays.
    let contested = new Map<string, CopyDoc>();
    for (const id of existing) {
      const stored = storedBefore.get(id);
      if (stored) contested.set(id, stored);
    }
    for (let round = 0; contested.size > 0; round += 1) {
      if (round === CAS_ROUNDS) throw new Error(`events ${[...contested.keys()].slice(0, 3).join(', ')} kept changing under concurrent writers`);
      const swaps: Array<{ id: string; stored: CopyDoc; doc: EventDoc }> = [];
      for (const [id, stored] of contested) {
        const candidate = best.get(id)!;
        if (isEarlierCopy(candidate, stored)) swaps.push({ id, stored, doc: { ...toDoc(candidate, stored.seq, ingestedAt), supersededIds: union(copyIds(stored), stored.supersededIds ?? []) } });
        else winners.set(id, stored);
      }
      await bulkUpdate(
        c.events,
        swaps.map(({ id, stored, doc }) => ({ replaceOne: { filter: { _id: id, receivedAt: stored.receivedAt, rawHash: stored.rawHash }, replacement: doc } })),
      );
      const after = await readCopies(swaps.map((swap) => swap.id));
      contested = new Map();
      for (const { id, doc } of swaps) {
        const now = after.get(id);
        if (now && now.receivedAt === doc.receivedAt && now.rawHash === doc.rawHash) {
          winners.set(id, now);
          touched.add(id);
        } else if (now) {
          contested.set(id, now); // another writer got there first: compare with what it stored
        }
      }
    }

    // Counts as SQLite gives them for the same lines arriving in this order.
    for (const [id, list] of copies) {
      let current: { receivedAt: number; rawHash: string } | undefined = storedBefore.get(id);
      for (const copy of list) {
        if (current === undefined) result.inserted += 1;
        else if (isEarlierCopy(copy, current)) result.replaced += 1;
        else {
          result.duplicates += 1;
          continue;
        }
        current = copy;
      }
    }

    // 2. Distinct lines of one message id (a retry): every hash seen, once another one shows up.
    const copyDocs: Doc[] = [];
    for (const [id, list] of copies) {
      const hashes = new Set(list.map((copy) => copy.rawHash));
      const stored = storedBefore.get(id);
      if (stored) hashes.add(stored.rawHash);
      if (hashes.size > 1) for (const rawHash of hashes) copyDocs.push({ _id: `${id}\u0001${rawHash}`, messageId: id, rawHash });
    }
    const knownCopies = await insertNew(c.copies, copyDocs);
    for (const doc of copyDocs) if (!knownCopies.has(doc._id as string)) touched.add(doc.messageId as string);

    // 3 and 4. Links and dirty marks of every touched message, from the copy now stored.
    await linkAndMark([...touched].map((id) => winners.get(id)!));
  };

  const writeEncodedBatch = async (accepted: readonly EncodedEvent[], rejected: readonly RejectedLine[]): Promise<WriteBatchResult> => {
    const result: WriteBatchResult = { inserted: 0, replaced: 0, duplicates: 0, rejected: 0, rejectedDuplicates: 0 };
    const ingestedAt = Date.now();
    if (accepted.length > 0) {
      const batchIds = new Set(accepted.map((event) => event.messageId));
      const messageIds = [...batchIds];
      // A re-delivery: first finish what an interrupted write of these messages left undone.
      await guard(ctx, 'write a batch of events', () => repairIntents((intent) => intent.messageIds.some((id) => batchIds.has(id))));
      const intent: IntentDoc = { _id: randomUUID(), messageIds, pid: process.pid, hostname: hostnameOfThisMachine, startedAt: processStartedAt, at: ingestedAt };
      await guard(ctx, 'write a batch of events', async () => {
        await c.intents.insertOne(intent);
        try {
          await writeEvents(accepted, ingestedAt, result);
        } catch (error) {
          failedIntents.add(intent._id);
          throw error;
        }
        await c.intents.deleteOne({ _id: intent._id });
      });
    }
    if (rejected.length > 0) await guard(ctx, 'write rejected lines', () => writeRejected(ctx, rejected, ingestedAt, result));
    return result;
  };

  return {
    writes: {
      writeBatch: async (accepted, rejected) => writeEncodedBatch(accepted.map(encodeEvent), rejected),
      writeEncodedBatch,
    },
    repairIntents,
  };
}

async function writeRejected(ctx: MongoContext, rejected: readonly RejectedLine[], ingestedAt: number, result: WriteBatchResult): Promise<void> {
  const unique = new Map<string, RejectedLine>();
  for (const line of rejected) if (!unique.has(line.rawHash)) unique.set(line.rawHash, line);
  let seq = (await allocate(ctx, 'rejected_seq', unique.size)) - unique.size;
  const docs = [...unique.values()].map((line) => ({
    _id: line.rawHash,
    seq: ++seq,
    reason: line.reason,
    detail: line.detail,
    receivedAt: line.receivedAt,
    messageId: line.messageId,
    event: line.event,
    appVersion: line.appVersion,
    raw: line.raw,
    ingestedAt,
  }));
  const existing = await insertNew(ctx.c.rejected, docs);
  result.rejected += docs.length - existing.size;
  result.rejectedDuplicates += rejected.length - (docs.length - existing.size);
}

function copyIds(copy: CopyDoc): string[] {
  return [copy.identityKey, copy.userId, copy.anonymousId, copy.previousId].filter((id): id is string => Boolean(id));
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}
