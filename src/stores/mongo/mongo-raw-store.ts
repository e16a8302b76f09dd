import { randomInt, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type AnyBulkWriteOperation, type Collection, type Db, type Filter, MongoBulkWriteError, type MongoClient } from 'mongodb';
import type { Correction, EventFilter } from '../../domain/correction.js';
import type { AcceptedEvent, EventType, RejectedLine, RejectReason, StoredEvent, TimeSource } from '../../domain/event.js';
import type { Profile } from '../../domain/profile.js';
import {
  type DirtyId,
  type EncodedEvent,
  encodeEvent,
  type LeaseHolder,
  type LeaseResult,
  type RawStore,
  linesWithVersion,
  type ReceivedCounts,
  type ReceivedLines,
  type StoredLine,
  type TailedEvent,
  type TailFilter,
  type TailKind,
  type TailPage,
  type TimeRange,
  type WriteBatchResult,
} from '../raw-store.js';
import { connectMongo, isDuplicateKey, mongoFailure } from './mongo-connection.js';
import { commonFilter, type Doc, maxSeq, parseJsonObject, parseMongoTailCursor, tailPage, whereMatches } from './mongo-tail.js';

/**
 * The MongoDB raw store: the same contract as the embedded SQLite store (one conformance suite),
 * for production and for several journeyctl processes on several hosts.
 *
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
 *
 * ## FerretDB 1.24 (SQLite backend), the MongoDB the tests run against
 * - no transactions, change streams or `$expr`: none are used;
 * - only a filter that is exactly `{_id: <string>}` is pushed down to SQLite; any other query
 *   reads the whole collection inside FerretDB: lookups by `_id` are sent one by one there
 *   (findByIds), counts come from collStats; queries on other fields stay plain MongoDB (indexed
 *   on a real server: MONGO_INDEXES) and scan on FerretDB, which bounds throughput in tests;
 * - an `update` command keeps a SQLite cursor open per statement until the command ends; ~100
 *   statements in one command exhaust its connection pool and hang the server: updates are sent
 *   UPDATE_CHUNK at a time;
 * - an unordered `update` command stops at its first write error (later statements are silently
 *   skipped), so no update here may fail by design: existence is found by inserts, whose duplicate
 *   key errors are reported per document, correctly;
 * - a `createIndexes` command naming several indexes that all exist already panics the
 *   connection: migrate() creates missing indexes one command each;
 * - `$group` computes only its first accumulator (the others come back 0): the quality aggregates
 *   read the few fields they need and count here;
 * - read-modify-write (`findAndModify`, a filtered update or delete) is not atomic against a
 *   concurrent writer (FerretDB filters in Go, then writes by `_id`): the counters ($inc) and the
 *   compare-and-swaps are atomic on MongoDB only. journeyctl serialises derivation (the only user
 *   of versions) with a lease, and copies of one message share a Kafka key, so in practice one
 *   writer at a time touches a message or a link.
 */
export const MONGO_COLLECTIONS = {
  events: 'raw_events',
  copies: 'raw_copies',
  intents: 'write_intents',
  rejected: 'rejected',
  links: 'identity_links',
  identityMap: 'identity_map',
  profiles: 'profiles',
  dirty: 'dirty_ids',
  counters: 'counters',
  corrections: 'corrections',
  meta: 'meta',
  leases: 'leases',
} as const;

/** Secondary indexes (every natural key is `_id`); created by migrate(), checked by doctor. */
export const MONGO_INDEXES: ReadonlyArray<{ collection: string; name: string; key: Record<string, 1 | -1> }> = [
  { collection: MONGO_COLLECTIONS.events, name: 'identity_key', key: { identityKey: 1 } },
  { collection: MONGO_COLLECTIONS.events, name: 'event_time', key: { eventTime: 1 } },
  { collection: MONGO_COLLECTIONS.events, name: 'received_at', key: { receivedAt: 1 } },
  { collection: MONGO_COLLECTIONS.events, name: 'arrival', key: { seq: 1 } },
  { collection: MONGO_COLLECTIONS.copies, name: 'message', key: { messageId: 1 } },
  { collection: MONGO_COLLECTIONS.rejected, name: 'received_at', key: { receivedAt: 1, _id: 1 } },
  { collection: MONGO_COLLECTIONS.rejected, name: 'arrival', key: { seq: 1 } },
  { collection: MONGO_COLLECTIONS.links, name: 'to', key: { to: 1 } },
  { collection: MONGO_COLLECTIONS.identityMap, name: 'canonical', key: { canonical: 1 } },
];

/** Update statements per command (see FerretDB above). */
const UPDATE_CHUNK = 20;
/** Ids per `$in` query. */
const IN_CHUNK = 10_000;
/** FerretDB: up to this many ids are looked up one by one rather than by one scan (findByIds). */
const FERRET_LOOKUPS = 300;
/** Compare-and-swap rounds before a write gives up as contended (a retriable error). */
const CAS_ROUNDS = 8;
/** An intent this old is repaired and removed whoever wrote it (its writer cannot still be at it). */
const INTENT_STALE_MS = 3_600_000;
/** How often a derivation round looks for intents of writers that are gone. */
const SWEEP_EVERY_MS = 30_000;
const ACTIVITY_TYPES = new Set(['track', 'page', 'screen']);
const DAY_MS = 86_400_000;

type EventDoc = {
  _id: string;
  seq: number;
  identityKey: string;
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  type: string;
  event: string;
  eventTime: number;
  timeSource: string;
  skewMs: number;
  receivedAt: number;
  appVersion: string | null;
  propertiesJson: string;
  traitsJson: string;
  raw: string;
  rawHash: string;
  ingestedAt: number;
  /** Ids earlier stored copies of this message were filed under (they are re-derived with it). */
  supersededIds?: string[];
};

type CopyDoc = Pick<EventDoc, '_id' | 'seq' | 'identityKey' | 'userId' | 'anonymousId' | 'previousId' | 'eventTime' | 'receivedAt' | 'rawHash' | 'supersededIds'>;
const COPY_PROJECTION = { seq: 1, identityKey: 1, userId: 1, anonymousId: 1, previousId: 1, eventTime: 1, receivedAt: 1, rawHash: 1, supersededIds: 1 };

interface Link {
  to: string;
  time: number;
  messageId: string;
}

type IntentDoc = {
  _id: string;
  messageIds: string[];
  pid: number;
  hostname: string;
  startedAt: number;
  at: number;
};

export interface MongoRawStoreOptions {
  url: string;
  database: string;
}

export class MongoRawStore implements RawStore {
  readonly engine = 'mongodb';
  private readonly db: Db;
  private readonly c: { [K in keyof typeof MONGO_COLLECTIONS]: Collection<Doc> };
  /** Intents of this process's writes that failed part-way: repaired by the next overlapping write. */
  private readonly failedIntents = new Set<string>();
  private lastSweep = 0;
  /** Mark documents behind each entry listDirtyIds handed out, until it is cleared. */
  private readonly listedMarks = new Map<string, string[]>();

  private constructor(
    private readonly client: MongoClient,
    private readonly url: string,
    database: string,
    /** FerretDB answers `{_id: x}` from SQLite's key but reads every document for anything else, `$in` included. */
    private readonly ferret: boolean,
  ) {
    this.db = client.db(database);
    this.c = Object.fromEntries(Object.entries(MONGO_COLLECTIONS).map(([key, name]) => [key, this.db.collection<Doc>(name)])) as MongoRawStore['c'];
  }

  static async open(options: MongoRawStoreOptions): Promise<MongoRawStore> {
    const client = await connectMongo(options.url);
    try {
      const info = await client.db('admin').command({ buildInfo: 1 });
      return new MongoRawStore(client, options.url, options.database, typeof info.ferretdbVersion === 'string');
    } catch (error) {
      await client.close().catch(() => {});
      throw mongoFailure('read the server version', error, options.url);
    }
  }

  /** Creates the collections and secondary indexes. Idempotent: existing ones are kept. */
  async migrate(): Promise<void> {
    await this.guard('create the raw store collections and indexes', async () => {
      const existing = new Set((await this.db.listCollections({}, { nameOnly: true }).toArray()).map((info) => info.name));
      for (const name of Object.values(MONGO_COLLECTIONS)) {
        if (!existing.has(name)) {
          await this.db.createCollection(name).catch((error: unknown) => {
            if ((error as { code?: number }).code !== 48) throw error; // created meanwhile by another process
          });
        }
        // One index per command, only the missing ones: FerretDB 1.24 drops the connection (a panic)
        // when a createIndexes command with several indexes names only existing ones.
        const present = new Set((await this.db.collection(name).listIndexes().toArray()).map((index) => index.name as string));
        for (const index of MONGO_INDEXES) {
          if (index.collection === name && !present.has(index.name)) await this.db.collection(name).createIndex(index.key, { name: index.name });
        }
      }
    });
  }

  /** What migrate() creates and is missing, as `collection` or `collection.index` (for doctor). */
  async missingSchema(): Promise<string[]> {
    return this.guard('list collections and indexes', async () => {
      const existing = new Set((await this.db.listCollections({}, { nameOnly: true }).toArray()).map((info) => info.name));
      const missing: string[] = [];
      for (const name of Object.values(MONGO_COLLECTIONS)) {
        if (!existing.has(name)) {
          missing.push(name);
          continue;
        }
        const present = new Set((await this.db.collection(name).listIndexes().toArray()).map((index) => index.name as string));
        for (const index of MONGO_INDEXES) if (index.collection === name && !present.has(index.name)) missing.push(`${name}.${index.name}`);
      }
      return missing;
    });
  }

  /** Server version, and FerretDB's own version when the server is FerretDB. */
  async serverInfo(): Promise<{ version: string; ferretdb: string | null }> {
    return this.guard('read the server version', async () => {
      const info = await this.db.admin().command({ buildInfo: 1 });
      return { version: String(info.version), ferretdb: typeof info.ferretdbVersion === 'string' ? info.ferretdbVersion : null };
    });
  }

  async writeBatch(accepted: readonly AcceptedEvent[], rejected: readonly RejectedLine[]): Promise<WriteBatchResult> {
    return this.writeEncodedBatch(accepted.map(encodeEvent), rejected);
  }

  async writeEncodedBatch(accepted: readonly EncodedEvent[], rejected: readonly RejectedLine[]): Promise<WriteBatchResult> {
    const result: WriteBatchResult = { inserted: 0, replaced: 0, duplicates: 0, rejected: 0, rejectedDuplicates: 0 };
    const ingestedAt = Date.now();
    if (accepted.length > 0) {
      const batchIds = new Set(accepted.map((event) => event.messageId));
      const messageIds = [...batchIds];
      // A re-delivery: first finish what an interrupted write of these messages left undone.
      await this.guard('write a batch of events', () => this.repairIntents((intent) => intent.messageIds.some((id) => batchIds.has(id))));
      const intent: IntentDoc = { _id: randomUUID(), messageIds, pid: process.pid, hostname: hostnameOfThisMachine, startedAt: processStartedAt, at: ingestedAt };
      await this.guard('write a batch of events', async () => {
        await this.c.intents.insertOne(intent);
        try {
          await this.writeEvents(accepted, ingestedAt, result);
        } catch (error) {
          this.failedIntents.add(intent._id);
          throw error;
        }
        await this.c.intents.deleteOne({ _id: intent._id });
      });
    }
    if (rejected.length > 0) await this.guard('write rejected lines', () => this.writeRejected(rejected, ingestedAt, result));
    return result;
  }

  private async writeEvents(accepted: readonly EncodedEvent[], ingestedAt: number, result: WriteBatchResult): Promise<void> {
    // The copies of each message id in this batch, in arrival order, and the earliest of them.
    const copies = new Map<string, EncodedEvent[]>();
    for (const event of accepted) {
      const list = copies.get(event.messageId);
      if (list) list.push(event);
      else copies.set(event.messageId, [event]);
    }
    const best = new Map<string, EncodedEvent>();
    for (const [id, list] of copies) best.set(id, list.reduce((a, b) => (earlier(b, a) ? b : a)));

    // 1. Insert-if-absent of each message's best copy; those stored already come back.
    let seq = (await this.allocate('event_seq', best.size)) - best.size;
    const docs = [...best.values()].map((event) => toDoc(event, ++seq, ingestedAt));
    const existing = await this.insertNew(this.c.events, docs);
    const storedBefore = await this.readCopies([...existing]);
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
        if (earlier(candidate, stored)) swaps.push({ id, stored, doc: { ...toDoc(candidate, stored.seq, ingestedAt), supersededIds: union(copyIds(stored), stored.supersededIds ?? []) } });
        else winners.set(id, stored);
      }
      await this.bulkUpdate(
        this.c.events,
        swaps.map(({ id, stored, doc }) => ({ replaceOne: { filter: { _id: id, receivedAt: stored.receivedAt, rawHash: stored.rawHash }, replacement: doc } })),
      );
      const after = await this.readCopies(swaps.map((swap) => swap.id));
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
        else if (earlier(copy, current)) result.replaced += 1;
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
    const knownCopies = await this.insertNew(this.c.copies, copyDocs);
    for (const doc of copyDocs) if (!knownCopies.has(doc._id as string)) touched.add(doc.messageId as string);

    // 3 and 4. Links and dirty marks of every touched message, from the copy now stored.
    await this.linkAndMark([...touched].map((id) => winners.get(id)!));
  }

  /** Writes the links of these stored copies and marks every id they are (or were) filed under. */
  private async linkAndMark(stored: readonly CopyDoc[]): Promise<void> {
    const links = new Map<string, Link>();
    const dirty = new Set<string>();
    for (const w of stored) {
      for (const key of [w.identityKey, w.anonymousId, w.previousId, ...(w.supersededIds ?? [])]) if (key) dirty.add(key);
      if (w.userId && w.anonymousId) noteLink(links, w.anonymousId, { to: w.userId, time: w.eventTime, messageId: w._id });
      if (w.userId && w.previousId) noteLink(links, w.previousId, { to: w.userId, time: w.eventTime, messageId: w._id });
    }
    await this.writeLinks(links);
    await this.insertMarks(dirty);
  }

  /**
   * Repairs intents left by writes that did not finish (see the class comment): those `overlaps`
   * selects, this process's own failed ones, and any whose writer is provably gone. Repaired
   * intents of writers that may still be running are kept; their writer removes them.
   */
  private async repairIntents(overlaps: (intent: IntentDoc) => boolean): Promise<void> {
    const intents = (await this.c.intents.find({}).toArray()) as unknown as IntentDoc[];
    const now = Date.now();
    for (const intent of intents) {
      const own = intent.pid === process.pid && intent.hostname === hostnameOfThisMachine && intent.startedAt === processStartedAt;
      const failed = this.failedIntents.has(intent._id);
      if (own && !failed) continue; // in flight in this process
      const gone = failed || now - intent.at > INTENT_STALE_MS || !isAlive({ pid: intent.pid, hostname: intent.hostname });
      if (!gone && !overlaps(intent)) continue;
      const stored = await this.readCopies(intent.messageIds);
      await this.linkAndMark([...stored.values()]);
      if (gone) {
        await this.c.intents.deleteOne({ _id: intent._id });
        this.failedIntents.delete(intent._id);
      }
    }
  }

  /** The earliest link per from-id wins: insert-if-absent, else compare-and-swap when ours is earlier. */
  private async writeLinks(links: Map<string, Link>): Promise<void> {
    if (links.size === 0) return;
    const docs: Doc[] = [...links].map(([from, link]) => ({ _id: from, to: link.to, eventTime: link.time, messageId: link.messageId }));
    let pending = [...(await this.insertNew(this.c.links, docs))];
    for (let round = 0; pending.length > 0; round += 1) {
      if (round === CAS_ROUNDS) throw new Error(`identity links ${pending.slice(0, 3).join(', ')} kept changing under concurrent writers`);
      const stored = await this.readLinks(pending);
      const swaps = pending.flatMap((from) => {
        const now = stored.get(from);
        const mine = links.get(from)!;
        return now && linkEarlier(mine, now) ? [{ from, now, mine }] : [];
      });
      await this.bulkUpdate(
        this.c.links,
        swaps.map(({ from, now, mine }) => ({
          updateOne: { filter: { _id: from, eventTime: now.time, messageId: now.messageId }, update: { $set: { to: mine.to, eventTime: mine.time, messageId: mine.messageId } } },
        })),
      );
      // A swap that matched nothing met a concurrent change: compare again with what is stored now.
      const after = await this.readLinks(swaps.map((swap) => swap.from));
      pending = swaps.filter(({ from, mine }) => after.get(from)?.messageId !== mine.messageId).map((swap) => swap.from);
    }
  }

  private async writeRejected(rejected: readonly RejectedLine[], ingestedAt: number, result: WriteBatchResult): Promise<void> {
    const unique = new Map<string, RejectedLine>();
    for (const line of rejected) if (!unique.has(line.rawHash)) unique.set(line.rawHash, line);
    let seq = (await this.allocate('rejected_seq', unique.size)) - unique.size;
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
    const existing = await this.insertNew(this.c.rejected, docs);
    result.rejected += docs.length - existing.size;
    result.rejectedDuplicates += rejected.length - (docs.length - existing.size);
  }

  /**
   * One entry per id. An id marked by several writes has one document per mark; the entry stands
   * for exactly the documents read now (remembered here), so clearing it can never remove a mark
   * written after this read.
   */
  async listDirtyIds(limit: number): Promise<DirtyId[]> {
    return this.guard('list dirty ids', async () => {
      // Derivation starts here: first pick up what writers that are gone left unmarked.
      if (Date.now() - this.lastSweep >= SWEEP_EVERY_MS) {
        await this.repairIntents(() => false);
        this.lastSweep = Date.now();
      }
      const docs = await this.c.dirty.find({}, { projection: { id: 1, mark: 1 } }).sort({ _id: 1 }).limit(limit).toArray();
      const entries = new Map<string, { mark: number; keys: string[] }>();
      for (const doc of docs) {
        const entry = entries.get(doc.id as string);
        if (entry) entry.keys.push(doc._id as string);
        else entries.set(doc.id as string, { mark: doc.mark as number, keys: [doc._id as string] });
      }
      for (const [id, entry] of entries) this.listedMarks.set(markKey({ id, mark: entry.mark }), entry.keys);
      return [...entries].map(([id, entry]) => ({ id, mark: entry.mark }));
    });
  }

  async markDirty(ids: readonly string[]): Promise<void> {
    await this.guard('mark ids dirty', () => this.insertMarks(new Set(ids)));
  }

  async clearDirtyIds(ids: readonly DirtyId[]): Promise<void> {
    await this.guard('clear dirty ids', async () => {
      const keys: string[] = [];
      for (const dirty of ids) {
        const key = markKey(dirty);
        keys.push(...(this.listedMarks.get(key) ?? [key]));
        this.listedMarks.delete(key);
      }
      for (const chunk of chunks(keys, IN_CHUNK)) await this.c.dirty.deleteMany({ _id: { $in: chunk } });
    });
  }

  async linkTargets(ids: readonly string[]): Promise<Map<string, string>> {
    return this.guard('read identity links', async () => {
      const targets = new Map<string, string>();
      for (const [from, link] of await this.readLinks(ids)) targets.set(from, link.to);
      return targets;
    });
  }

  async linkSources(ids: readonly string[]): Promise<string[]> {
    return this.guard('read identity links', async () => {
      const sources: string[] = [];
      for (const chunk of chunks(ids, IN_CHUNK)) {
        for (const doc of await this.c.links.find({ to: { $in: chunk } }, { projection: { _id: 1 } }).toArray()) sources.push(doc._id as string);
      }
      return sources;
    });
  }

  async canonicalOf(ids: readonly string[]): Promise<Map<string, string>> {
    return this.guard('read the identity map', async () => {
      const canonical = new Map<string, string>();
      for (const chunk of chunks(ids, IN_CHUNK)) {
        for (const doc of await this.findByIds(this.c.identityMap, chunk)) canonical.set(doc._id as string, doc.canonical as string);
      }
      return canonical;
    });
  }

  async membersOf(userIds: readonly string[]): Promise<Map<string, string[]>> {
    return this.guard('read the identity map', async () => {
      const members = new Map<string, string[]>();
      for (const chunk of chunks(userIds, IN_CHUNK)) {
        for (const doc of await this.c.identityMap.find({ canonical: { $in: chunk } }).toArray()) {
          const list = members.get(doc.canonical as string);
          if (list) list.push(doc._id as string);
          else members.set(doc.canonical as string, [doc._id as string]);
        }
      }
      return members;
    });
  }

  async saveCanonical(assignments: ReadonlyArray<{ id: string; canonicalId: string }>): Promise<void> {
    const wanted = new Map<string, string>();
    for (const { id, canonicalId } of assignments) wanted.set(id, canonicalId);
    await this.guard('save the identity map', () => this.saveChanged(this.c.identityMap, wanted, 'canonical'));
  }

  async eventsByIdentity(identityKeys: readonly string[]): Promise<StoredEvent[]> {
    return this.guard('read events', async () => {
      const events: StoredEvent[] = [];
      const projection = { identityKey: 1, userId: 1, anonymousId: 1, type: 1, event: 1, eventTime: 1, receivedAt: 1, timeSource: 1, skewMs: 1, appVersion: 1, propertiesJson: 1, traitsJson: 1 };
      for (const chunk of chunks(identityKeys, IN_CHUNK)) {
        const docs = await this.c.events.find({ identityKey: { $in: chunk } }, { projection }).toArray();
        const copies = await this.copiesOf(docs.map((doc) => doc._id as string));
        for (const doc of docs) events.push(toStoredEvent(doc, copies.get(doc._id as string) ?? 1));
      }
      return events;
    });
  }

  async rawLinesByIdentity(identityKeys: readonly string[]): Promise<StoredLine[]> {
    return this.guard('read stored lines', async () => {
      const lines: StoredLine[] = [];
      for (const chunk of chunks(identityKeys, IN_CHUNK)) {
        const docs = await this.c.events.find({ identityKey: { $in: chunk } }, { projection: { raw: 1, receivedAt: 1 } }).toArray();
        const copies = await this.copiesOf(docs.map((doc) => doc._id as string));
        for (const doc of docs) lines.push({ raw: doc.raw as string, receivedAt: doc.receivedAt as number, copies: copies.get(doc._id as string) ?? 1 });
      }
      return lines;
    });
  }

  async identityKeysInRange(range: Required<TimeRange>): Promise<string[]> {
    return this.guard('find identity keys by time', async () =>
      ((await this.c.events.distinct('identityKey', { eventTime: { $gte: range.from, $lt: range.to } })) as string[]).sort(compareBinary),
    );
  }

  async appendCorrection(correction: Omit<Correction, 'id'>): Promise<Correction> {
    return this.guard('append a correction', async () => {
      // Append-only: the next number is claimed by inserting it (a unique _id), never by updating.
      for (let round = 0; round < CAS_ROUNDS; round += 1) {
        const [last] = await this.c.corrections.find({}, { projection: { _id: 1 } }).sort({ _id: -1 }).limit(1).toArray();
        const seq = (typeof last?._id === 'number' ? last._id : 0) + 1;
        const stored: Correction = { id: `c${seq}`, ...correction };
        try {
          await this.c.corrections.insertOne({ _id: seq, doc: JSON.stringify(stored) });
          return stored;
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
        }
      }
      throw new Error('corrections kept being appended concurrently');
    });
  }

  async listCorrections(): Promise<Correction[]> {
    return this.guard('list corrections', async () => (await this.c.corrections.find({}).sort({ _id: 1 }).toArray()).map((doc) => JSON.parse(doc.doc as string) as Correction));
  }

  async identityKeysForEvents(filter: EventFilter): Promise<string[]> {
    return this.guard('find events', async () => {
      const query: Filter<Doc> = {};
      if (filter.event !== undefined) query.event = { $eq: filter.event };
      if (filter.appVersion !== undefined) query.appVersion = { $eq: filter.appVersion };
      if (filter.since !== undefined || filter.until !== undefined) {
        query.eventTime = { ...(filter.since !== undefined ? { $gte: filter.since } : {}), ...(filter.until !== undefined ? { $lt: filter.until } : {}) };
      }
      if (filter.userId !== undefined) {
        const members = (await this.c.identityMap.find({ canonical: { $eq: filter.userId } }, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id as string);
        query.identityKey = { $in: [...new Set([...members, filter.userId])] };
      }
      return ((await this.c.events.distinct('identityKey', query)) as string[]).sort(compareBinary);
    });
  }

  async identityKeysOfMessages(messageIds: readonly string[]): Promise<Map<string, string>> {
    return this.guard('find events', async () => {
      const keys = new Map<string, string>();
      for (const chunk of chunks(messageIds, IN_CHUNK)) {
        for (const doc of await this.findByIds(this.c.events, chunk, { identityKey: 1 })) keys.set(doc._id as string, doc.identityKey as string);
      }
      return keys;
    });
  }

  async readMeta(key: string): Promise<string | null> {
    return this.guard('read meta', async () => ((await this.c.meta.findOne({ _id: key }))?.value as string | undefined) ?? null);
  }

  async writeMeta(key: string, value: string | null): Promise<void> {
    await this.guard('write meta', async () => {
      if (value === null) await this.c.meta.deleteOne({ _id: key });
      else await this.c.meta.updateOne({ _id: key }, { $set: { value } }, { upsert: true });
    });
  }

  async saveProfiles(profiles: readonly Profile[], removedUserIds: readonly string[]): Promise<void> {
    await this.guard('save profiles', async () => {
      const wanted = new Map<string, string>();
      for (const profile of profiles) wanted.set(profile.userId, JSON.stringify(profile));
      await this.saveChanged(this.c.profiles, wanted, 'doc');
      for (const chunk of chunks(removedUserIds, IN_CHUNK)) await this.c.profiles.deleteMany({ _id: { $in: chunk } });
    });
  }

  async *streamProfiles(): AsyncIterable<Profile> {
    yield* this.stream('read profiles', this.c.profiles.find({}).sort({ _id: 1 }), (doc) => JSON.parse(doc.doc as string) as Profile);
  }

  async *streamRejected(range: TimeRange): AsyncIterable<RejectedLine> {
    const filter = { receivedAt: { $gte: range.from ?? 0, $lt: range.to ?? Number.MAX_SAFE_INTEGER } };
    yield* this.stream('read rejected lines', this.c.rejected.find(filter).sort({ receivedAt: 1, _id: 1 }), toRejected);
  }

  async receivedCounts(range: TimeRange, options: { bucketMs: number; lateAfterMs: number }): Promise<ReceivedCounts[]> {
    return this.countReceived(range, options, { withCopies: true });
  }

  /** receivedCounts; without copies, extraCopies stays 0 and the copies are not read (burst detection needs none). */
  private async countReceived(range: TimeRange, options: { bucketMs: number; lateAfterMs: number }, { withCopies }: { withCopies: boolean }): Promise<ReceivedCounts[]> {
    return this.guard('count received lines', async () => {
      const bucket = Math.max(1, Math.trunc(options.bucketMs));
      const received = { receivedAt: { $gte: range.from ?? 0, $lt: range.to ?? Number.MAX_SAFE_INTEGER } };
      const rows = new Map<string, ReceivedCounts>();
      const rowOf = (receivedAt: number, appVersion: string | null) => {
        const bucketStart = receivedAt - (receivedAt % bucket);
        const key = `${bucketStart}\u0000${appVersion ?? '\u0001'}`;
        let row = rows.get(key);
        if (!row) rows.set(key, (row = { bucketStart, appVersion, accepted: 0, late: 0, extraCopies: 0, rejected: {} }));
        return row;
      };
      const copies = withCopies ? await this.allCopyCounts() : new Map<string, number>();
      for await (const doc of this.c.events.find(received, { projection: { receivedAt: 1, eventTime: 1, appVersion: 1 } })) {
        const row = rowOf(doc.receivedAt as number, (doc.appVersion as string | null) ?? null);
        row.accepted += 1;
        if ((doc.receivedAt as number) - (doc.eventTime as number) > options.lateAfterMs) row.late += 1;
        row.extraCopies += (copies.get(doc._id as string) ?? 1) - 1;
      }
      for await (const doc of this.c.rejected.find(received, { projection: { receivedAt: 1, appVersion: 1, reason: 1 } })) {
        const row = rowOf(doc.receivedAt as number, (doc.appVersion as string | null) ?? null);
        const reason = doc.reason as RejectReason;
        row.rejected[reason] = (row.rejected[reason] ?? 0) + 1;
      }
      return [...rows.values()];
    });
  }

  async acceptedPerDay(range: TimeRange): Promise<Array<{ day: string; activity: number; identity: number }>> {
    return this.guard('count accepted events per day', async () => {
      const days = new Map<number, { activity: number; identity: number }>();
      const filter = { eventTime: { $gte: range.from ?? 0, $lt: range.to ?? Number.MAX_SAFE_INTEGER } };
      for await (const doc of this.c.events.find(filter, { projection: { eventTime: 1, type: 1 } })) {
        const day = Math.floor((doc.eventTime as number) / DAY_MS);
        let counts = days.get(day);
        if (!counts) days.set(day, (counts = { activity: 0, identity: 0 }));
        if (ACTIVITY_TYPES.has(doc.type as string)) counts.activity += 1;
        else counts.identity += 1;
      }
      return [...days]
        .sort(([a], [b]) => a - b)
        .map(([day, counts]) => ({ day: new Date(day * DAY_MS).toISOString().slice(0, 10), ...counts }));
    });
  }

  // Scans every stored line, as receivedCounts does (not kept at write time here: see the README).
  async receivedLineCounts(bucketMs: number): Promise<ReceivedLines[]> {
    return linesWithVersion(await this.countReceived({}, { bucketMs, lateAfterMs: 0 }, { withCopies: false }));
  }

  /** Distinct lines of every retried message id: for receivedCounts, a whole-store aggregate anyway. */
  private async allCopyCounts(): Promise<Map<string, number>> {
    return this.countCopies({}, new Map());
  }

  /** Distinct lines of those of these message ids that were retried with other bytes (by the copies' messageId index). */
  private async copiesOf(messageIds: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const chunk of chunks(messageIds, IN_CHUNK)) await this.countCopies({ messageId: { $in: chunk } }, counts);
    return counts;
  }

  /** Adds the copies matching `filter` to `counts`, per message id. */
  private async countCopies(filter: Filter<Doc>, counts: Map<string, number>): Promise<Map<string, number>> {
    for await (const doc of this.c.copies.find(filter, { projection: { messageId: 1 } })) counts.set(doc.messageId as string, (counts.get(doc.messageId as string) ?? 0) + 1);
    return counts;
  }

  async tailEvents(after: string | null, filter: TailFilter, limit: number): Promise<TailPage<TailedEvent>> {
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
    return this.guard('tail events', () => tailPage(start, limit, { collection: this.c.events, filter: query, accept, map: (doc) => ({ ...toTailedFields(doc), raw: doc.raw as string }) }));
  }

  async tailRejected(after: string | null, filter: TailFilter, limit: number): Promise<TailPage<RejectedLine>> {
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
    return this.guard('tail rejected lines', () => tailPage(start, limit, { collection: this.c.rejected, filter: commonFilter(filter), accept, map: toRejected }));
  }

  async tailEnd(kind: TailKind): Promise<string> {
    return this.guard('find the end of the store', async () => String(await maxSeq(kind === 'events' ? this.c.events : this.c.rejected)));
  }

  async profileOf(userId: string): Promise<Profile | null> {
    return this.guard('read a profile', async () => {
      const doc = await this.c.profiles.findOne({ _id: { $eq: userId } });
      return doc ? (JSON.parse(doc.doc as string) as Profile) : null;
    });
  }

  async counts(): Promise<{ events: number; rejected: number; profiles: number; dirty: number; copies: number }> {
    return this.guard('count', async () => ({
      events: await this.count(this.c.events),
      rejected: await this.count(this.c.rejected),
      profiles: await this.count(this.c.profiles),
      dirty: (await this.c.dirty.distinct('id')).length,
      copies: await this.count(this.c.copies),
    }));
  }

  async nextVersion(): Promise<number> {
    return this.guard('allocate a version', () => this.allocate('version', 1));
  }

  async acquireLease(name: string, holder: LeaseHolder, ttlMs: number): Promise<LeaseResult> {
    return this.guard('take a lease', async () => {
      const key = holderKey(holder);
      for (let round = 0; round < CAS_ROUNDS; round += 1) {
        const now = Date.now();
        const current = await this.c.leases.findOne({ _id: name });
        if (!current) {
          try {
            await this.c.leases.insertOne({ _id: name, holder: key, expiresAt: now + ttlMs });
            return { acquired: true };
          } catch (error) {
            if (isDuplicateKey(error)) continue;
            throw error;
          }
        }
        const other = JSON.parse(current.holder as string) as LeaseHolder;
        const mine = other.pid === holder.pid && other.hostname === holder.hostname && other.startedAt === holder.startedAt;
        if (!mine && (current.expiresAt as number) > now && isAlive(other)) return { acquired: false, holder: other, expiresAt: current.expiresAt as number };
        // Renew ours, or take over from an expired or dead holder: only if the lease is still what we read.
        const swapped = await this.c.leases.updateOne({ _id: name, holder: current.holder, expiresAt: current.expiresAt }, { $set: { holder: key, expiresAt: now + ttlMs } });
        if (swapped.matchedCount === 1) return { acquired: true };
      }
      throw new Error(`lease ${name} kept changing hands`);
    });
  }

  async releaseLease(name: string, holder: LeaseHolder): Promise<void> {
    await this.guard('release a lease', async () => {
      await this.c.leases.deleteOne({ _id: name, holder: holderKey(holder) });
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  // ---------------------------------------------------------------------------------- helpers

  /** Takes `count` numbers from a named counter; returns the last of them (the range is (last − count, last]). */
  private async allocate(name: string, count: number): Promise<number> {
    if (count === 0) return 0;
    const counters = this.db.collection<{ _id: string; value: number }>(MONGO_COLLECTIONS.counters);
    const doc = await counters.findOneAndUpdate({ _id: name }, { $inc: { value: count } }, { upsert: true, returnDocument: 'after' });
    return doc!.value;
  }

  /** Documents in a collection: from its metadata (MongoDB), or SQLite's count (FerretDB's `count` reads every document). */
  private async count(collection: Collection<Doc>): Promise<number> {
    if (!this.ferret) return collection.estimatedDocumentCount();
    const stats = await this.db.command({ collStats: collection.collectionName }).catch((error: unknown) => {
      if ((error as { code?: number }).code === 26) return { count: 0 }; // no such collection yet
      throw error;
    });
    return Number(stats.count ?? 0);
  }

  /**
   * Documents by `_id`. MongoDB: `$in` over the `_id` index. FerretDB: a few ids are looked up one
   * by one, 16 at a time, since its `$in` reads the whole collection (150 lookups: 0.4 s; the
   * scan of 20k events: 1–5 s); many ids (a re-ingested batch) take the one scan instead.
   */
  private async findByIds(collection: Collection<Doc>, ids: readonly string[], projection?: Record<string, number>): Promise<Doc[]> {
    if (!this.ferret || ids.length > FERRET_LOOKUPS) return collection.find({ _id: { $in: [...ids] } }, projection ? { projection } : {}).toArray();
    const found: Doc[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const doc = await collection.findOne({ _id: ids[next++]! }, projection ? { projection } : {});
        if (doc) found.push(doc);
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, ids.length) }, worker));
    return found;
  }

  /** Unordered insert; returns the `_id`s stored already (duplicate key); any other failure throws. */
  private async insertNew(collection: Collection<Doc>, docs: readonly Doc[]): Promise<Set<string>> {
    const existing = new Set<string>();
    if (docs.length === 0) return existing;
    try {
      await collection.insertMany(docs as Doc[], { ordered: false });
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      for (const writeError of errors) {
        if (writeError.code !== 11000) throw error;
        existing.add(docs[writeError.index]!._id as string);
      }
      if (error.writeConcernError) throw error;
    }
    return existing;
  }

  /** Unordered updates, a few statements per command (FerretDB, see above). */
  private async bulkUpdate(collection: Collection<Doc>, operations: AnyBulkWriteOperation<Doc>[]): Promise<void> {
    for (const chunk of chunks(operations, UPDATE_CHUNK)) await collection.bulkWrite(chunk, { ordered: false });
  }

  private async readCopies(ids: readonly string[]): Promise<Map<string, CopyDoc>> {
    const copies = new Map<string, CopyDoc>();
    for (const chunk of chunks(ids, IN_CHUNK)) {
      for (const doc of await this.findByIds(this.c.events, chunk, COPY_PROJECTION)) copies.set(doc._id as string, doc as unknown as CopyDoc);
    }
    return copies;
  }

  private async readLinks(ids: readonly string[]): Promise<Map<string, Link>> {
    const links = new Map<string, Link>();
    for (const chunk of chunks(ids, IN_CHUNK)) {
      for (const doc of await this.findByIds(this.c.links, chunk)) {
        links.set(doc._id as string, { to: doc.to as string, time: doc.eventTime as number, messageId: doc.messageId as string });
      }
    }
    return links;
  }

  private async insertMarks(ids: ReadonlySet<string>): Promise<void> {
    if (ids.size === 0) return;
    // A random generation per write: unique without a shared counter (no read-modify-write).
    const mark = randomInt(1, 2 ** 48);
    await this.insertNew(this.c.dirty, [...ids].map((id) => ({ _id: markKey({ id, mark }), id, mark })));
  }

  /** Makes `field` of each `_id` equal the wanted value, writing only what differs. */
  private async saveChanged(collection: Collection<Doc>, wanted: Map<string, string>, field: string): Promise<void> {
    if (wanted.size === 0) return;
    const stored = new Map<string, unknown>();
    for (const chunk of chunks([...wanted.keys()], IN_CHUNK)) {
      for (const doc of await this.findByIds(collection, chunk)) stored.set(doc._id as string, doc[field]);
    }
    const fresh = [...wanted].filter(([id]) => !stored.has(id)).map(([id, value]) => ({ _id: id, [field]: value }));
    const changed = [...wanted].filter(([id, value]) => stored.has(id) && stored.get(id) !== value);
    // Inserted meanwhile by another process: ours becomes an update.
    for (const id of await this.insertNew(collection, fresh)) changed.push([id, wanted.get(id)!]);
    await this.bulkUpdate(
      collection,
      changed.map(([id, value]) => ({ updateOne: { filter: { _id: id }, update: { $set: { [field]: value } } } })),
    );
  }

  private async *stream<T>(what: string, cursor: AsyncIterable<Doc> & { close(): Promise<void> }, map: (doc: Doc) => T): AsyncIterable<T> {
    try {
      for await (const doc of cursor) yield map(doc);
    } catch (error) {
      throw mongoFailure(what, error, this.url);
    } finally {
      await cursor.close().catch(() => {});
    }
  }

  private async guard<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw mongoFailure(what, error, this.url);
    }
  }
}

function toDoc(event: EncodedEvent, seq: number, ingestedAt: number): EventDoc {
  return {
    _id: event.messageId,
    seq,
    identityKey: event.identityKey,
    userId: event.userId,
    anonymousId: event.anonymousId,
    previousId: event.previousId,
    type: event.type,
    event: event.event,
    eventTime: event.eventTime,
    timeSource: event.timeSource,
    skewMs: event.skewMs,
    receivedAt: event.receivedAt,
    appVersion: event.appVersion,
    propertiesJson: event.propertiesJson,
    traitsJson: event.traitsJson,
    raw: event.raw,
    rawHash: event.rawHash,
    ingestedAt,
  };
}

function toStoredEvent(doc: Doc, copies: number): StoredEvent {
  return { ...toTailedFields(doc), copies };
}

/** A stored event's own fields (tail shows no copy count: that would cost a lookup per record). */
function toTailedFields(doc: Doc): Omit<StoredEvent, 'copies'> {
  return {
    messageId: doc._id as string,
    type: doc.type as EventType,
    event: doc.event as string,
    identityKey: doc.identityKey as string,
    userId: (doc.userId as string | null) ?? null,
    anonymousId: (doc.anonymousId as string | null) ?? null,
    eventTime: doc.eventTime as number,
    receivedAt: doc.receivedAt as number,
    timeSource: doc.timeSource as TimeSource,
    skewMs: doc.skewMs as number,
    appVersion: (doc.appVersion as string | null) ?? null,
    propertiesJson: doc.propertiesJson as string,
    traitsJson: doc.traitsJson as string,
  };
}

function toRejected(doc: Doc): RejectedLine {
  return {
    raw: doc.raw as string,
    rawHash: doc._id as string,
    reason: doc.reason as RejectReason,
    detail: doc.detail as string,
    receivedAt: doc.receivedAt as number,
    messageId: (doc.messageId as string | null) ?? null,
    event: (doc.event as string | null) ?? null,
    appVersion: (doc.appVersion as string | null) ?? null,
  };
}

/** Dedup order: the earlier-received copy wins; on a tie the smaller line hash, so the winner never depends on arrival order. */
function earlier(a: { receivedAt: number; rawHash: string }, b: { receivedAt: number; rawHash: string }): boolean {
  return a.receivedAt < b.receivedAt || (a.receivedAt === b.receivedAt && a.rawHash < b.rawHash);
}

function linkEarlier(a: Link, b: Link): boolean {
  return a.time < b.time || (a.time === b.time && a.messageId < b.messageId);
}

function noteLink(links: Map<string, Link>, from: string, link: Link): void {
  if (from === link.to) return;
  const known = links.get(from);
  if (!known || linkEarlier(link, known)) links.set(from, link);
}

function copyIds(copy: CopyDoc): string[] {
  return [copy.identityKey, copy.userId, copy.anonymousId, copy.previousId].filter((id): id is string => Boolean(id));
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

function markKey(dirty: DirtyId): string {
  return `${dirty.id}\u0001${dirty.mark}`;
}

function holderKey(holder: LeaseHolder): string {
  return JSON.stringify({ pid: holder.pid, hostname: holder.hostname, command: holder.command, startedAt: holder.startedAt });
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}

/** Byte order of UTF-8, as MongoDB and SQLite compare strings. */
function compareBinary(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A holder on this host whose process is gone has let go, whatever its expiry says. */
function isAlive(holder: { pid: number; hostname: string }): boolean {
  if (holder.hostname !== hostnameOfThisMachine) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const hostnameOfThisMachine = hostname();
const processStartedAt = Date.now();
