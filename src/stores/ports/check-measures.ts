import type { TimeRange } from './event-log.js';

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

/** Per UTC day: sessions starting that day with their declared and placed event counts. */
export interface SessionPlacementDay {
  day: string;
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
 * Measures the check types read (`journeyctl check`): the engine scans and aggregates, every
 * value bound. What a measure means for a check (thresholds, which days to compare, `*` for any
 * flag) lives in src/checks; these only count.
 */
export interface CheckMeasures {
  /** Rows per UTC day: events by event time, sessions by start. */
  dailyCounts(table: 'events' | 'sessions', range: TimeRange): Promise<Array<{ day: string; count: number }>>;
  /** The newest event time before `before` (epoch ms), null when there is none. */
  newestEventTime(before: number | undefined): Promise<number | null>;
  /** Missing and unexpected values of one property of one event; `accepted` as JSON texts, null to skip that part. */
  propertyProfile(range: TimeRange, event: string, property: string, accepted: readonly string[] | null, sampleSize: number): Promise<PropertyProfile>;
  /** Sessions starting in the range, how many carry the flag (null: any flag), and a sample of their ids. */
  flagShare(range: TimeRange, flag: string | null, sampleSize: number): Promise<{ sessions: number; flagged: number; sample: string[] }>;
  /**
   * Per UTC day of sessions starting in the range: their declared event counts against the events
   * stored with their ids, looked for up to `eventMarginMs` either side of the range, and up to
   * `sampleSize` ids of sessions where the two differ.
   */
  sessionPlacement(range: TimeRange, options: { eventMarginMs: number; sampleSize: number }): Promise<SessionPlacementDay[]>;
  /**
   * A custom read-only query: `{from:DateTime64(3)}`, `{to:DateTime64(3)}`, `{from_ms:Int64}`,
   * `{to_ms:Int64}` and `{db:Identifier}` are bound; returns the first `limit` rows and how many there were.
   */
  queryRows(sql: string, range: Required<TimeRange>, limit: number): Promise<{ rows: Array<Record<string, unknown>>; total: number }>;
  /** Appends failing rows to the check_failures audit table. */
  storeCheckFailures(rows: readonly CheckFailureRow[]): Promise<void>;
}
