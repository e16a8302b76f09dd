import type { Session, SessionEvent } from '../domain/session.js';
import type { TimeRange } from './raw-store.js';

export interface ReplaceResult {
  sessionsWritten: number;
  sessionsDeleted: number;
  eventsWritten: number;
  eventsDeleted: number;
}

/**
 * What ClickHouse holds: derived sessions and placed events, partitioned by day and
 * ordered by user and time. One SQL source serves chdb (embedded) and a ClickHouse server.
 */
export interface AnalyticsStore {
  readonly engine: string;
  /** Creates the database and tables if missing. Idempotent. */
  migrate(): Promise<void>;
  /**
   * Makes the stored rows of exactly these users equal `sessions`/`events` (the complete new
   * derivation for them): unchanged rows are left alone, changed rows rewritten, vanished rows
   * tombstoned. `version` must exceed every version written before.
   */
  replaceUsers(userIds: readonly string[], sessions: readonly Session[], events: readonly SessionEvent[], version: number): Promise<ReplaceResult>;
  streamSessions(range: TimeRange): AsyncIterable<Session>;
  streamEvents(range: TimeRange): AsyncIterable<SessionEvent>;
  counts(): Promise<{ sessions: number; events: number }>;
  close(): Promise<void>;
}
