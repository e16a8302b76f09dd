import type { RejectedLine, StoredEvent } from '../../domain/event.js';

/**
 * Tail reads (`journeyctl tail`), beside a running writer. Records come in arrival order
 * (the order the store accepted them), each with the cursor that resumes right after it.
 * `after` null starts at the beginning. A page holds at most `limit` matching records; the
 * returned `cursor` may move past records that did not match (so a selective filter over a
 * large store still advances in short, bounded reads), and `more` says whether the store held
 * records past it when read — false means caught up: poll again later. Every filter value is
 * data (bound as a parameter), never query text. A read must not block a concurrent writer.
 * Cursors are opaque strings of the adapter; a cursor it cannot read is a UsageError.
 */
export interface TailReader {
  tailEvents(after: string | null, filter: TailFilter, limit: number): Promise<TailPage<TailedEvent>>;
  /** tailRejected: the same over rejected lines; `ids` and `where` match the line's JSON (a line that is not JSON never matches them). */
  tailRejected(after: string | null, filter: TailFilter, limit: number): Promise<TailPage<RejectedLine>>;
  /** The cursor right after the last record stored now (`tail --from end`). */
  tailEnd(kind: TailKind): Promise<string>;
}

export type TailKind = 'events' | 'rejected';

/**
 * What `tail` asks a raw store to match; every field optional, all given fields must match.
 * The adapter applies it in its query with bound values (never spliced into query text).
 */
export interface TailFilter {
  /** userId, anonymousId or previousId as sent equals one of these (for rejected lines: userId/anonymousId of the line's JSON). */
  ids?: readonly string[];
  /** Event name as stored (rejected lines: as extracted when the line was refused). */
  event?: string;
  appVersion?: string;
  /** receivedAt in [receivedFrom, receivedTo). */
  receivedFrom?: number;
  receivedTo?: number;
  /** Each entry must match; see TailWhere. */
  where?: readonly TailWhere[];
}

/**
 * `--where key=value`: the JSON value at `path` in the event — path[0] is `properties`, `context`
 * or `traits`, the rest are object keys — equals `value` read as a string ("pro" matches "pro"),
 * or as the JSON scalar it spells (3, 3.50, true, null match the number, boolean or null). Objects
 * and arrays never match. A key the engine cannot express in its query language matches nothing.
 */
export interface TailWhere {
  path: readonly string[];
  value: string;
}

/** An accepted event as tail shows it: the stored fields plus the original line (for context). */
export type TailedEvent = Omit<StoredEvent, 'copies'> & { raw: string };

export interface TailPage<T> {
  records: Array<{ cursor: string; value: T }>;
  /** Pass as `after` to continue. */
  cursor: string;
  /** The store held records past `cursor` when this page was read: read again at once. */
  more: boolean;
  /** How many records (matching or not) the store held past `cursor` then, where the engine knows cheaply. */
  behind?: number;
}
