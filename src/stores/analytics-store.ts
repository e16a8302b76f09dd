import type { Correction } from '../domain/correction.js';
import type { Finding, FindingKind, FunnelOutcome } from '../domain/journey.js';
import type { Session, SessionEvent } from '../domain/session.js';
import type { ReceivedCounts, TimeRange } from './raw-store.js';

/** Everything derived for a set of users, written together. */
export interface UserDerivation {
  sessions: readonly Session[];
  events: readonly SessionEvent[];
  findings: readonly Finding[];
  funnelOutcomes: readonly FunnelOutcome[];
}

export const DERIVED_TABLES = ['sessions', 'events', 'findings', 'funnel_outcomes'] as const;
export type DerivedTable = (typeof DERIVED_TABLES)[number];

export type ReplaceResult = Record<DerivedTable, { written: number; deleted: number }>;

/** Rows per derived table of one day partition, with findings also split into labels and flags. */
export type DayCounts = Record<DerivedTable, number> & { labels: number; flags: number };

/** A day partition being rebuilt: rows go to staging, commit swaps them in table by table. */
export interface DayRebuild {
  readonly day: string;
  /** Adds these rows (only those that belong to the day are kept) to the staging partition. */
  stage(derivation: UserDerivation, version: number): Promise<void>;
  /** Checks staging holds what was staged, then replaces the day in every table (an empty day is dropped explicitly). */
  commit(): Promise<DayCounts>;
}

/** The UTC day (YYYY-MM-DD) a row is partitioned into: the same rule the tables' PARTITION BY applies. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** The part of a derivation that lives in one day partition. */
export function derivationOfDay(derivation: UserDerivation, day: string): UserDerivation {
  return {
    sessions: derivation.sessions.filter((s) => utcDay(s.startedAt) === day),
    events: derivation.events.filter((e) => utcDay(e.eventTime) === day),
    findings: derivation.findings.filter((f) => utcDay(f.startedAt) === day),
    funnelOutcomes: derivation.funnelOutcomes.filter((o) => utcDay(o.startedAt) === day),
  };
}

export interface SessionDetail {
  session: Session;
  events: SessionEvent[];
  findings: Finding[];
  funnelOutcomes: FunnelOutcome[];
}

/** sessionsOfUser: `sessions[i].funnelOutcomes` holds session-scope outcomes only; user-scope ones are in `userFunnelOutcomes`. */
export interface UserSessions {
  sessions: SessionDetail[];
  userFunnelOutcomes: FunnelOutcome[];
}

export interface JourneyReport {
  sessionsPerDay: Array<{ day: string; sessions: number; flagged: number }>;
  sessions: { total: number; flagged: number; counted: number };
  labels: Array<{ label: string; sessions: number; share: number }>;
  flags: Array<{ flag: string; sessions: number }>;
  funnels: Array<{ funnel: string; totalSteps: number; entered: number; reachedStep: number[]; converted: number; conversionRate: number }>;
}

/** How long sessions are and how many events they hold, in the buckets the dashboards use. */
export interface SessionShape {
  lengths: Array<{ bucket: string; sessions: number }>;
  eventsPerSession: Array<{ bucket: string; sessions: number }>;
}

/**
 * What the raw store knows that dashboards need (pipeline health, stewardship), published into
 * the analytics store as a copy: received lines per minute, release bursts, corrections.
 */
export interface PipelineFacts {
  /** receivedCounts in one-minute buckets over the whole raw store. */
  minutes: readonly ReceivedCounts[];
  bursts: ReadonlyArray<{ appVersion: string; windowStart: number; windowEnd: number; accepted: number; rejected: number; share: number; baseline: number; reasons: ReadonlyArray<{ reason: string; lines: number }> }>;
  corrections: readonly Correction[];
}

/** One property of one event over a window, for missing_rate and accepted_values checks. */
export interface PropertyProfile {
  rows: number;
  /** Rows where the property is absent or null, and a sample of their message ids. */
  missing: number;
  missingSample: string[];
  /** Rows whose value (as JSON text) is not one of the accepted values (0 when none were given). */
  unexpected: number;
  /** The most frequent unexpected values, with a message id of each. */
  unexpectedValues: Array<{ value: string; rows: number; example: string }>;
}

/** Per UTC day: events placed that day, and sessions starting that day with their declared and placed event counts. */
export interface ReconcileDay {
  day: string;
  events: number;
  sessions: number;
  /** Sum of the sessions' event_count. */
  declared: number;
  /** Events stored with those sessions' ids. */
  placed: number;
  mismatchedSessions: number;
  sample: string[];
}

/** A failing row kept by `journeyctl check --store-failures`. */
export interface CheckFailureRow {
  runId: string;
  runAt: number;
  check: string;
  checkType: string;
  status: string;
  /** The row as JSON text. */
  row: string;
}

/**
 * Narrows a stream (`journeyctl export --user/--session/--event/--app-version/--limit`); every
 * value is bound as a query parameter. Sessions (and their findings and funnel outcomes) match
 * `event`/`appVersion` when they hold such an event / were seen on that version.
 */
export interface RecordFilter {
  userId?: string;
  sessionId?: string;
  event?: string;
  appVersion?: string;
  /** At most this many records. */
  limit?: number;
}

/**
 * What ClickHouse holds: derived sessions, placed events, labels/flags with evidence and
 * funnel outcomes, partitioned by day and ordered by user and time. One SQL source serves
 * chdb (embedded) and a ClickHouse server.
 */
export interface AnalyticsStore {
  readonly engine: string;
  /** Creates the database and tables if missing. Idempotent. */
  migrate(): Promise<void>;
  /**
   * Makes the stored rows of exactly these users equal `derivation` (their complete new
   * derivation): unchanged rows are left alone, changed rows rewritten, vanished rows
   * tombstoned. `version` must exceed every version written before.
   */
  replaceUsers(userIds: readonly string[], derivation: UserDerivation, version: number): Promise<ReplaceResult>;
  streamSessions(range: TimeRange, filter?: RecordFilter): AsyncIterable<Session>;
  streamEvents(range: TimeRange, filter?: RecordFilter): AsyncIterable<SessionEvent>;
  streamFindings(range: TimeRange, kind?: FindingKind, filter?: RecordFilter): AsyncIterable<Finding>;
  streamFunnelOutcomes(range: TimeRange, filter?: RecordFilter): AsyncIterable<FunnelOutcome>;
  /** One session with its events, findings and funnel outcomes; null if no such session. */
  sessionDetail(sessionId: string): Promise<SessionDetail | null>;
  /**
   * Everything derived for one user (`journeyctl inspect user`): sessions in time order, each
   * with its events, findings and session-scope funnel outcomes, plus the user-scope outcomes.
   */
  sessionsOfUser(userId: string): Promise<UserSessions>;
  /**
   * The session each of these events was placed in, by message id (`journeyctl tail`); events
   * not (yet) derived are absent. `eventTime` lets the engine read only the partitions involved.
   */
  sessionIdsOfEvents(events: ReadonlyArray<{ messageId: string; eventTime: number }>): Promise<Map<string, string>>;
  /** Aggregates computed by the engine; flagged sessions are left out unless asked for. */
  report(range: TimeRange, includeFlagged: boolean): Promise<JourneyReport>;
  /** Session length and events-per-session distributions of sessions starting in the range. */
  sessionShape(range: TimeRange): Promise<SessionShape>;
  /**
   * Up to `limit` sessions starting in the range, with their events (at most `eventsPerSession`
   * each), findings and funnel outcomes: flagged and labelled ones first, then a stable sample.
   */
  sampleSessions(range: TimeRange, limit: number, eventsPerSession: number): Promise<SessionDetail[]>;
  /** Replaces the published copy of the raw store's pipeline facts (see PipelineFacts). */
  publishPipelineFacts(facts: PipelineFacts): Promise<void>;
  counts(): Promise<{ sessions: number; events: number }>;
  /** Rows stored in one UTC day partition of each derived table. */
  dayCounts(day: string): Promise<DayCounts>;
  /** Starts an atomic rebuild of one UTC day partition (reprocess). */
  rebuildDay(day: string): Promise<DayRebuild>;

  // Data-quality checks (`journeyctl check`): the engine scans and aggregates, every value bound.
  /** Rows per UTC day: events by event time, sessions by start. */
  dailyCounts(table: 'events' | 'sessions', range: TimeRange): Promise<Array<{ day: string; count: number }>>;
  /** The newest event time before `before` (epoch ms), null when there is none. */
  newestEventTime(before: number | undefined): Promise<number | null>;
  /** Missing and unexpected values of one property of one event; `accepted` as JSON texts, null to skip that part. */
  propertyProfile(range: TimeRange, event: string, property: string, accepted: readonly string[] | null, sampleSize: number): Promise<PropertyProfile>;
  /** Sessions starting in the range, how many carry the flag (`*`: any flag), and a sample of their ids. */
  flagShare(range: TimeRange, flag: string, sampleSize: number): Promise<{ sessions: number; flagged: number; sample: string[] }>;
  reconcileDays(range: TimeRange): Promise<ReconcileDay[]>;
  /**
   * A custom read-only query: `{from:DateTime64(3)}`, `{to:DateTime64(3)}`, `{from_ms:Int64}`,
   * `{to_ms:Int64}` and `{db:Identifier}` are bound; returns the first `limit` rows and how many there were.
   */
  queryRows(sql: string, range: Required<TimeRange>, limit: number): Promise<{ rows: Array<Record<string, unknown>>; total: number }>;
  /** Appends failing rows to the check_failures audit table. */
  storeCheckFailures(rows: readonly CheckFailureRow[]): Promise<void>;

  close(): Promise<void>;
}
