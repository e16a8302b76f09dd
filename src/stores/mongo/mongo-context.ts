import { type AnyBulkWriteOperation, type Collection, type Db, MongoBulkWriteError, type MongoClient } from 'mongodb';
import type { IdentityLink } from '../../domain/precedence.js';
import { mongoFailure } from './mongo-connection.js';
import type { Doc } from './mongo-tail.js';

/**
 * What every part of the MongoDB raw store shares: one client, its collections, and the helpers
 * that work around FerretDB.
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
  { collection: MONGO_COLLECTIONS.events, name: 'anonymous_user', key: { anonymousId: 1, userId: 1 } },
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
export const IN_CHUNK = 10_000;
/** FerretDB: up to this many raw events are looked up one by one rather than by one scan (findByIds). */
const FERRET_LOOKUPS = 300;
/**
 * The same for the other collections (links, identity map, profiles: a document per id or user).
 * Measured on FerretDB 1.24.2 with ~1 KB documents (docs/decisions/0020): a look-up by `_id` costs
 * about 1/28 of a scan of the same collection, both growing with its size.
 */
const FERRET_LOOKUPS_BY_ID = 24;
/**
 * FerretDB: more changed documents than this are replaced by one delete and one insert
 * (saveChanged) instead of an update each: an update statement costs about 3 lookups there.
 */
const FERRET_UPDATES = 16;
/** Compare-and-swap rounds before a write gives up as contended (a retriable error). */
export const CAS_ROUNDS = 8;

export type MongoCollections = { [K in keyof typeof MONGO_COLLECTIONS]: Collection<Doc> };

export interface MongoContext {
  client: MongoClient;
  db: Db;
  url: string;
  /** FerretDB answers `{_id: x}` from SQLite's key but reads every document for anything else, `$in` included. */
  ferret: boolean;
  c: MongoCollections;
  /**
   * Per from-id, a link this process saw stored (written or read). A stored link is never deleted
   * and only ever replaced by an earlier one (isEarlierLink), so the stored link is at least as
   * early as this one: a batch's link that is not earlier has nothing to write (writeLinks).
   */
  knownLinks: Map<string, IdentityLink>;
}

/** knownLinks is emptied when it reaches this many ids (a cache: only round trips depend on it). */
export const KNOWN_LINKS_MAX = 200_000;

export function createMongoContext(client: MongoClient, url: string, database: string, ferret: boolean): MongoContext {
  const db = client.db(database);
  const c = Object.fromEntries(Object.entries(MONGO_COLLECTIONS).map(([key, name]) => [key, db.collection<Doc>(name)])) as MongoCollections;
  return { client, db, url, ferret, c, knownLinks: new Map() };
}

export async function guard<T>(ctx: MongoContext, what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw mongoFailure(what, error, ctx.url);
  }
}

export async function* stream<T>(ctx: MongoContext, what: string, cursor: AsyncIterable<Doc> & { close(): Promise<void> }, map: (doc: Doc) => T): AsyncIterable<T> {
  try {
    for await (const doc of cursor) yield map(doc);
  } catch (error) {
    throw mongoFailure(what, error, ctx.url);
  } finally {
    await cursor.close().catch(() => {});
  }
}

/** Takes `count` numbers from a named counter; returns the last of them (the range is (last − count, last]). */
export async function allocate(ctx: MongoContext, name: string, count: number): Promise<number> {
  if (count === 0) return 0;
  const counters = ctx.db.collection<{ _id: string; value: number }>(MONGO_COLLECTIONS.counters);
  const doc = await counters.findOneAndUpdate({ _id: name }, { $inc: { value: count } }, { upsert: true, returnDocument: 'after' });
  return doc!.value;
}

/** Documents in a collection: from its metadata (MongoDB), or SQLite's count (FerretDB's `count` reads every document). */
export async function countDocs(ctx: MongoContext, collection: Collection<Doc>): Promise<number> {
  if (!ctx.ferret) return collection.estimatedDocumentCount();
  const stats = await ctx.db.command({ collStats: collection.collectionName }).catch((error: unknown) => {
    if ((error as { code?: number }).code === 26) return { count: 0 }; // no such collection yet
    throw error;
  });
  return Number(stats.count ?? 0);
}

/**
 * Documents by `_id`. MongoDB: `$in` over the `_id` index. FerretDB: a few ids are looked up one
 * by one, 16 at a time, since its `$in` reads the whole collection; many ids (a re-ingested
 * batch) take the one scan instead (figures: docs/decisions/0010 for raw events, 0020 for the rest).
 */
export async function findByIds(ctx: MongoContext, collection: Collection<Doc>, ids: readonly string[], projection?: Record<string, number>): Promise<Doc[]> {
  if (!ctx.ferret || ids.length > (collection.collectionName === MONGO_COLLECTIONS.events ? FERRET_LOOKUPS : FERRET_LOOKUPS_BY_ID))
    return collection.find({ _id: { $in: [...ids] } }, projection ? { projection } : {}).toArray();
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
export async function insertNew(collection: Collection<Doc>, docs: readonly Doc[]): Promise<Set<string>> {
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
export async function bulkUpdate(collection: Collection<Doc>, operations: AnyBulkWriteOperation<Doc>[]): Promise<void> {
  for (const chunk of chunks(operations, UPDATE_CHUNK)) await collection.bulkWrite(chunk, { ordered: false });
}

/** Makes `field` of each `_id` equal the wanted value, writing only what differs. */
export async function saveChanged(ctx: MongoContext, collection: Collection<Doc>, wanted: Map<string, string>, field: string): Promise<void> {
  if (wanted.size === 0) return;
  const stored = new Map<string, unknown>();
  for (const chunk of chunks([...wanted.keys()], IN_CHUNK)) {
    for (const doc of await findByIds(ctx, collection, chunk)) stored.set(doc._id as string, doc[field]);
  }
  let changed = [...wanted].filter(([id, value]) => stored.has(id) && stored.get(id) !== value);
  if (ctx.ferret && changed.length > FERRET_UPDATES) {
    // Derived documents, rewritten whole by the one process holding the derivation lease: for a
    // moment between the two commands they are absent; a crash there leaves their users dirty, and
    // the next derivation inserts them again.
    for (const chunk of chunks(changed, IN_CHUNK)) await collection.deleteMany({ _id: { $in: chunk.map(([id]) => id) } });
    for (const [id] of changed) stored.delete(id);
    changed = [];
  }
  const fresh = [...wanted].filter(([id]) => !stored.has(id)).map(([id, value]) => ({ _id: id, [field]: value }));
  // Inserted meanwhile by another process: ours becomes an update.
  for (const id of await insertNew(collection, fresh)) changed.push([id, wanted.get(id)!]);
  await bulkUpdate(
    collection,
    changed.map(([id, value]) => ({ updateOne: { filter: { _id: id }, update: { $set: { [field]: value } } } })),
  );
}

export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}

/** Byte order of UTF-8, as MongoDB and SQLite compare strings. */
export function compareBinary(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
