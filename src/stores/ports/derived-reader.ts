import type { Finding, FindingKind, FunnelOutcome } from '../../domain/journey.js';
import type { Session, SessionEvent } from '../../domain/session.js';
import type { TimeRange } from './event-log.js';

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
 * sessionsOfUser's answer from one user's rows: sessions in time order, each given its events,
 * findings and session-scope outcomes (each list already in the order it keeps), and the
 * user-scope outcomes apart.
 */
export function userSessionsOf(rows: { sessions: Session[]; events: SessionEvent[]; findings: Finding[]; sessionOutcomes: FunnelOutcome[]; userOutcomes: FunnelOutcome[] }): UserSessions {
  const bySession = new Map<string, SessionDetail>(rows.sessions.map((session) => [session.sessionId, { session, events: [], findings: [], funnelOutcomes: [] }]));
  for (const event of rows.events) bySession.get(event.sessionId)?.events.push(event);
  for (const finding of rows.findings) bySession.get(finding.sessionId)?.findings.push(finding);
  for (const outcome of rows.sessionOutcomes) bySession.get(outcome.subjectId)?.funnelOutcomes.push(outcome);
  return { sessions: [...bySession.values()], userFunnelOutcomes: rows.userOutcomes };
}

/** Reading derived rows back: exports (paged streams), one session, one user, and counts. */
export interface DerivedReader {
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
  counts(): Promise<{ sessions: number; events: number }>;
}
