import type { AcceptedEvent, RejectedLine, StoredEvent } from '../../domain/event.js';

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

/** An event's own fields as every raw store keeps them, besides its key, JSON texts and raw line. */
export function storedEventFields(event: EncodedEvent) {
  return {
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
  };
}

export interface WriteBatchResult {
  /** New message ids stored. */
  inserted: number;
  /** Copies that replaced a stored one because they were received earlier (dedup keeps the earliest). */
  replaced: number;
  /** Copies of a stored message id that changed nothing. */
  duplicates: number;
  /**
   * Distinct lines of stored message ids this write remembered for the first time (see
   * StoredEvent.copies). Optional: where an engine leaves it out, every duplicate counts as a change.
   */
  copiesAdded?: number;
  rejected: number;
  /** Rejected lines already in the rejected store (the same line ingested again). */
  rejectedDuplicates: number;
}

/** An input line the raw store may already hold: its rawHash, and the message id read from it without parsing (null: none found). */
export interface LineKey {
  rawHash: string;
  messageId: string | null;
}

/** The stored accepted event whose line is byte-identical to a LineKey's. */
export interface StoredCopy {
  receivedAt: number;
  eventTime: number;
}

/** EventLog.storedCopies, synchronous, over a batch's keys as two parallel arrays (hashes[i], messageIds[i]). */
export type StoredCopiesLookUp = (hashes: readonly string[], messageIds: readonly (string | null)[]) => Array<StoredCopy | null>;

/** Where another thread opens its own look-up of stored copies (EventLog.storedCopiesReader): a plain value that crosses threads. */
export interface StoredCopiesReaderSpec {
  engine: 'sqlite';
  path: string;
}

/** A look-up of stored copies opened from a StoredCopiesReaderSpec, on the thread that uses it. */
export interface StoredCopiesReader {
  lookUp: StoredCopiesLookUp;
  close(): void;
}

/** A stored accepted line, as reprocess re-validates it. */
export interface StoredLine {
  raw: string;
  receivedAt: number;
  /** StoredEvent.copies of its message id. */
  copies: number;
}

export interface TimeRange {
  from?: number | undefined;
  to?: number | undefined;
}

/**
 * The event log: raw accepted events (deduplicated by messageId, the earliest received copy wins:
 * domain/precedence.ts) and rejected lines. A write also records identity links (see
 * IdentityGraph) and marks the ids it touched dirty (see DirtyQueue), in the same unit.
 */
export interface EventLog {
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
  /**
   * Optional, for a backlog (a whole file) stored into a store with no accepted event yet: until
   * endBulkLoad(), writes skip the indexes only reads need, built once at the end instead
   * (docs/decisions/0028). True if a bulk load began; false, with nothing changed, otherwise.
   * Reads stay correct meanwhile (slower); a process that dies mid-load leaves the building to the next open.
   */
  beginBulkLoad?(): Promise<boolean>;
  /**
   * Builds what beginBulkLoad left out; called before anything derives. `ingestDone`: this
   * process stores no more lines, so what only writes and other readers need may be built beside
   * the derive, finished by the store's close (or, if the process dies, by the next open).
   */
  endBulkLoad?(options?: { ingestDone?: boolean }): Promise<void>;

  /**
   * Optional, the re-ingest pre-filter (docs/decisions/0026): per key, the stored accepted event
   * whose rawHash is the key's (its line is byte-identical), found by the key's message id; null
   * when there is none, or no message id. A miss is always safe (the line takes the normal path);
   * a store without it pre-filters nothing.
   */
  storedCopies?(keys: readonly LineKey[]): Promise<Array<StoredCopy | null>>;
  /**
   * Optional: how the line worker thread opens the same look-up on a connection of its own
   * (docs/decisions/0026), so it runs beside the writer. It may miss what this store has written
   * but not yet committed (a miss is safe); it never answers a line storedCopies would not.
   * null: this store cannot be opened twice (an in-memory database).
   */
  storedCopiesReader?(): StoredCopiesReaderSpec | null;

  /** Every accepted event filed under one of the identity keys (any order; sessionize sorts). */
  eventsByIdentity(identityKeys: readonly string[]): Promise<StoredEvent[]>;
  /** The stored lines of those events, for re-validating them with today's config (reprocess). */
  rawLinesByIdentity(identityKeys: readonly string[]): Promise<StoredLine[]>;
  /** Identity keys with at least one accepted event whose event time is in [from, to). */
  identityKeysInRange(range: Required<TimeRange>): Promise<string[]>;
  streamRejected(range: TimeRange): AsyncIterable<RejectedLine>;
}
