import type { Collection, Filter } from 'mongodb';
import { UsageError } from '../../errors.js';
import type { TailFilter, TailPage } from '../raw-store.js';

/**
 * Tail reads over the MongoDB raw store. Arrival order is the `seq` every event and rejected
 * line gets when it is first stored (a range taken per batch from a counter; an earlier copy
 * that replaces a stored event keeps the stored `seq`). A read covers at most SCAN_WINDOW
 * sequence numbers, so a selective filter still advances in short, bounded reads.
 *
 * Equality filters (ids, event, app version, received time) go into the query as values;
 * `--where` JSON matches are applied here, on the parsed JSON text the store keeps (properties
 * and traits are stored as JSON text so they round-trip byte for byte, which a query cannot
 * look into). Nothing a person types becomes query structure: every value is compared as data.
 *
 * With several writers at once a batch that took its sequence range earlier can land after a
 * later one; a tail reader that already passed that range does not see it (one batch's window).
 */
const SCAN_WINDOW = 20_000;

/** A stored document: natural keys are `_id` (message id, line hash, user id, ...). */
export type Doc = { _id: string | number; [field: string]: unknown };
const MAX_PAGE = 10_000;

export function parseMongoTailCursor(after: string | null): number {
  if (after === null) return 0;
  if (!/^\d{1,15}$/.test(after)) {
    throw new UsageError(`"${after}" is not a tail position of the MongoDB raw store`, { hint: 'use --offset beginning, --offset end, or a cursor value printed by an earlier tail' });
  }
  return Number(after);
}

export async function maxSeq(collection: Collection<Doc>): Promise<number> {
  const [last] = await collection
    .find({}, { projection: { seq: 1 } })
    .sort({ seq: -1 })
    .limit(1)
    .toArray();
  return typeof last?.seq === 'number' ? last.seq : 0;
}

export interface TailQuery<T> {
  collection: Collection<Doc>;
  /** Conditions the query can carry as values. */
  filter: Filter<Doc>;
  /** Conditions applied to each read document (JSON matches); null when there are none. */
  accept: ((doc: Doc) => boolean) | null;
  map: (doc: Doc) => T;
}

export async function tailPage<T>(start: number, limit: number, query: TailQuery<T>): Promise<TailPage<T>> {
  const end = await maxSeq(query.collection);
  if (start >= end) return { records: [], cursor: String(start), more: false, behind: 0 };
  const windowEnd = Math.min(end, start + SCAN_WINDOW);
  const size = Math.max(1, Math.min(MAX_PAGE, Math.floor(limit)));
  let cursor = query.collection.find({ ...query.filter, seq: { $gt: start, $lte: windowEnd } }).sort({ seq: 1 });
  if (query.accept === null) cursor = cursor.limit(size);
  const records: Array<{ cursor: string; value: T }> = [];
  for await (const doc of cursor) {
    if (query.accept !== null && !query.accept(doc)) continue;
    records.push({ cursor: String(doc.seq), value: query.map(doc) });
    if (records.length === size) break;
  }
  await cursor.close();
  const next = records.length === size ? Number(records[records.length - 1]!.cursor) : windowEnd;
  return { records, cursor: String(next), more: next < end, behind: end - next };
}

/** Query conditions shared by events and rejected lines. */
export function commonFilter(filter: TailFilter): Filter<Doc> {
  const out: Filter<Doc> = {};
  if (filter.event !== undefined) out.event = { $eq: filter.event };
  if (filter.appVersion !== undefined) out.appVersion = { $eq: filter.appVersion };
  if (filter.receivedFrom !== undefined || filter.receivedTo !== undefined) {
    out.receivedAt = {
      ...(filter.receivedFrom !== undefined ? { $gte: filter.receivedFrom } : {}),
      ...(filter.receivedTo !== undefined ? { $lt: filter.receivedTo } : {}),
    };
  }
  return out;
}
