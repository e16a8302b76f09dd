import type { AcceptedEvent, RejectedLine, RejectReason, StoredEvent } from '../domain/event.js';
import type { Correction, EventFilter } from '../domain/correction.js';
import type { Profile } from '../domain/profile.js';

/**
 * An accepted event ready to store: the parsed objects replaced by the JSON text the store
 * keeps. Ingest's worker thread hands events over in this form, so the thread that writes
 * neither clones nor serialises the objects again.
 */
export type EncodedEvent = Omit<AcceptedEvent, 'properties' | 'context' | 'traits'> & {
  propertiesJson: string;
  traitsJson: string;
};

export function encodeEvent(event: AcceptedEvent): EncodedEvent {
  return {
    messageId: event.messageId,
    type: event.type,
    event: event.event,
    userId: event.userId,
    anonymousId: event.anonymousId,
    previousId: event.previousId,
    identityKey: event.identityKey,
    eventTime: event.eventTime,
    timeSource: event.timeSource,
    skewMs: event.skewMs,
    receivedAt: event.receivedAt,
    appVersion: event.appVersion,
    propertiesJson: JSON.stringify(event.properties),
    traitsJson: JSON.stringify(event.traits),
    raw: event.raw,
    rawHash: event.rawHash,
  };
}

export interface WriteBatchResult {
  /** New message ids stored. */
  inserted: number;
  /** Copies that replaced a stored one because they were received earlier (dedup keeps the earliest). */
  replaced: number;
  /** Copies of a stored message id that changed nothing. */
  duplicates: number;
  rejected: number;
  /** Rejected lines already in the rejected store (the same line ingested again). */
  rejectedDuplicates: number;
}

/** A stored accepted line, as reprocess re-validates it. */
export interface StoredLine {
  raw: string;
  receivedAt: number;
  /** StoredEvent.copies of its message id. */
  copies: number;
}

/** One bucket of receivedLineCounts: lines of one app version received in it. */
export interface ReceivedLines {
  /** Start of the bucket (epoch ms, a multiple of bucketMs). */
  bucketStart: number;
  appVersion: string;
  /** Accepted events stored (after dedup). */
  accepted: number;
  rejected: Partial<Record<RejectReason, number>>;
}

/** One bucket of receivedCounts. */
export interface ReceivedCounts {
  /** Start of the bucket (epoch ms, a multiple of bucketMs). */
  bucketStart: number;
  appVersion: string | null;
  accepted: number;
  late: number;
  /** Distinct copies beyond the first, summed over the bucket's accepted events. */
  extraCopies: number;
  rejected: Partial<Record<RejectReason, number>>;
}

/** receivedCounts reduced to receivedLineCounts: rows of an app version, their accepted and rejected lines. */
export function linesWithVersion(rows: readonly ReceivedCounts[]): ReceivedLines[] {
  const lines: ReceivedLines[] = [];
  for (const row of rows) if (row.appVersion !== null) lines.push({ bucketStart: row.bucketStart, appVersion: row.appVersion, accepted: row.accepted, rejected: row.rejected });
  return lines;
}

export interface TimeRange {
  from?: number | undefined;
  to?: number | undefined;
}

export interface DirtyId {
  id: string;
  /** Marking generation: only this generation is cleared, so a re-mark by a concurrent writer survives. */
  mark: number;
}

export interface LeaseHolder {
  pid: number;
  hostname: string;
  command: string;
  startedAt: number;
}

export type LeaseResult = { acquired: true } | { acquired: false; holder: LeaseHolder; expiresAt: number };

/**
 * What MongoDB holds in production: raw accepted events (deduplicated by messageId, earliest
 * received copy wins), rejected lines, identity links and profiles, plus the small amount of
 * coordination state (dirty ids, leases, versions) that several processes share.
 */
export interface RawStore {
  readonly engine: string;
  /** Stores one batch atomically and marks the ids whose users must be re-derived. */
  writeBatch(accepted: readonly AcceptedEvent[], rejected: readonly RejectedLine[]): Promise<WriteBatchResult>;
  /** writeBatch for events already encoded: the same effect as writeBatch of the events they encode. */
  writeEncodedBatch(accepted: readonly EncodedEvent[], rejected: readonly RejectedLine[]): Promise<WriteBatchResult>;
  /**
   * Optional, for an engine whose cost is per commit. Between beginWriteGroup() and
   * commitWriteGroup() every write of this store is one unit: visible to this process, durable
   * only at the commit, and gone if the process dies first or abandonWriteGroup() is called. A
   * caller acknowledges no batch of the group before the commit resolves, so each batch stays
   * all-or-nothing. Without these methods every batch commits on its own.
   */
  beginWriteGroup?(): Promise<void>;
  commitWriteGroup?(): Promise<void>;
  abandonWriteGroup?(): Promise<void>;

  listDirtyIds(limit: number): Promise<DirtyId[]>;
  /** Marks ids so the next derive re-derives their users (a steward correction touched them). */
  markDirty(ids: readonly string[]): Promise<void>;
  clearDirtyIds(ids: readonly DirtyId[]): Promise<void>;

  /** The winning identity link (earliest by event time, then message id) of each id that has one. */
  linkTargets(ids: readonly string[]): Promise<Map<string, string>>;
  /** Ids whose winning link points at one of `ids`. */
  linkSources(ids: readonly string[]): Promise<string[]>;
  /** The persisted canonical user of each id that has one. */
  canonicalOf(ids: readonly string[]): Promise<Map<string, string>>;
  /** Persisted members (ids) of each canonical user. */
  membersOf(userIds: readonly string[]): Promise<Map<string, string[]>>;
  saveCanonical(assignments: ReadonlyArray<{ id: string; canonicalId: string }>): Promise<void>;

  /** Every accepted event filed under one of the identity keys (any order; sessionize sorts). */
  eventsByIdentity(identityKeys: readonly string[]): Promise<StoredEvent[]>;
  /** The stored lines of those events, for re-validating them with today's config (reprocess). */
  rawLinesByIdentity(identityKeys: readonly string[]): Promise<StoredLine[]>;
  /** Identity keys with at least one accepted event whose event time is in [from, to). */
  identityKeysInRange(range: Required<TimeRange>): Promise<string[]>;

  /** Appends a steward correction (append-only: nothing updates or deletes one) and returns it with its id. */
  appendCorrection(correction: Omit<Correction, 'id'>): Promise<Correction>;
  /** Every correction ever made, reverts included, oldest first. */
  listCorrections(): Promise<Correction[]>;
  /** Identity keys of accepted events matching a steward filter (whose users a correction touches). */
  identityKeysForEvents(filter: EventFilter): Promise<string[]>;
  /** The identity key of each of these message ids that is stored. */
  identityKeysOfMessages(messageIds: readonly string[]): Promise<Map<string, string>>;

  /** Small named values shared by processes (reprocess checkpoints). */
  readMeta(key: string): Promise<string | null>;
  writeMeta(key: string, value: string | null): Promise<void>;

  saveProfiles(profiles: readonly Profile[], removedUserIds: readonly string[]): Promise<void>;
  streamProfiles(): AsyncIterable<Profile>;
  streamRejected(range: TimeRange): AsyncIterable<RejectedLine>;
  /** Counts for summaries and reconciliation; `copies` = distinct lines kept for retried message ids. */
  counts(): Promise<{ events: number; rejected: number; profiles: number; dirty: number; copies: number }>;

  /**
   * Data-quality aggregates (checks, release bursts). Each is one grouped scan; adapters keep
   * them simple (SQLite: GROUP BY over an index; MongoDB: one $group per collection).
   *
   * What arrived in `range` of received time, per bucket (`bucketMs` wide, aligned to the epoch)
   * and app version: accepted events (stored copies, so after dedup), how many of them arrived
   * more than `lateAfterMs` after they happened, extra distinct copies (see StoredEvent.copies), and
   * rejected lines by reason. Rows with nothing in them are left out; order is unspecified.
   */
  receivedCounts(range: TimeRange, options: { bucketMs: number; lateAfterMs: number }): Promise<ReceivedCounts[]>;
  /**
   * What release-burst detection reads, over the whole store: accepted events and rejected lines
   * by reason per bucket of received time and app version, lines without an app version left
   * out — receivedCounts' accepted and rejected for those. A stream asks for it every minute or
   * so, so an adapter should keep these counts as it writes rather than scan every stored line
   * (the embedded store does, per minute, for a `bucketMs` of whole minutes).
   */
  receivedLineCounts(bucketMs: number): Promise<ReceivedLines[]>;
  /** Accepted events per UTC day of event time: activity (track/page/screen) and identity (identify/alias) calls. */
  acceptedPerDay(range: TimeRange): Promise<Array<{ day: string; activity: number; identity: number }>>;

  /** A store-wide monotonic number: analytics rows written later always carry a higher version. */
  nextVersion(): Promise<number>;

  acquireLease(name: string, holder: LeaseHolder, ttlMs: number): Promise<LeaseResult>;
  releaseLease(name: string, holder: LeaseHolder): Promise<void>;

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
  tailEvents(after: string | null, filter: TailFilter, limit: number): Promise<TailPage<TailedEvent>>;
  /** tailRejected: the same over rejected lines; `ids` and `where` match the line's JSON (a line that is not JSON never matches them). */
  tailRejected(after: string | null, filter: TailFilter, limit: number): Promise<TailPage<RejectedLine>>;
  /** The cursor right after the last record stored now (`tail --from end`). */
  tailEnd(kind: TailKind): Promise<string>;
  /** One profile by canonical user id, or null (`journeyctl inspect`). */
  profileOf(userId: string): Promise<Profile | null>;

  close(): Promise<void>;
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
}
