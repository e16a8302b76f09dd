import type { AcceptedEvent, RejectedLine, StoredEvent } from '../domain/event.js';
import type { Correction, EventFilter } from '../domain/correction.js';
import type { Profile } from '../domain/profile.js';

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

  listDirtyIds(limit: number): Promise<DirtyId[]>;
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
  rawLinesByIdentity(identityKeys: readonly string[]): Promise<Array<{ raw: string; receivedAt: number }>>;
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
  /** Counts for summaries and reconciliation. */
  counts(): Promise<{ events: number; rejected: number; profiles: number; dirty: number }>;

  /** A store-wide monotonic number: analytics rows written later always carry a higher version. */
  nextVersion(): Promise<number>;

  acquireLease(name: string, holder: LeaseHolder, ttlMs: number): Promise<LeaseResult>;
  releaseLease(name: string, holder: LeaseHolder): Promise<void>;

  close(): Promise<void>;
}
