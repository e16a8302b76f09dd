/** Journey-layer records: labels and flags with evidence, and funnel outcomes. */

export type FindingKind = 'label' | 'flag';

/**
 * A label ("struggled with checkout") or an anomaly flag ("bot_like") attached to a session,
 * with what a person needs to trust it: the rule and version that gave it and the events
 * that matched.
 */
export interface Finding {
  kind: FindingKind;
  name: string;
  ruleVersion: number;
  userId: string;
  sessionId: string;
  /** The session's start: findings are partitioned with their session. */
  startedAt: number;
  /** Human-readable why: "4 form_error after checkout_started", "median gap 180 ms over 640 events". */
  detail: string;
  /** Message ids of the events that matched, in time order. */
  evidence: string[];
}

export type FunnelScope = 'session' | 'user';

/** How far one session (or one user, across sessions within the window) got through a funnel. */
export interface FunnelOutcome {
  scope: FunnelScope;
  /** session id for session scope, user id for user scope. */
  subjectId: string;
  userId: string;
  funnel: string;
  /** When the attempt started (first step), or the session start when no step was reached. */
  startedAt: number;
  stepsReached: number;
  totalSteps: number;
  converted: boolean;
  /** Message ids of the events that reached each step. */
  evidence: string[];
}
