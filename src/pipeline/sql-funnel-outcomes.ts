import type { FunnelOutcome } from '../domain/journey.js';
import type { createDeriveJourneys } from '../journeys/derive-journeys.js';
import type { SqlDerivation } from '../stores/ports/sql-derivation.js';

type DeriveJourneys = ReturnType<typeof createDeriveJourneys>;

const subjectKey = (scope: FunnelOutcome['scope'], subjectId: string) => `${scope}\u0000${subjectId}`;

/**
 * deriveJourneys for these users with the funnel outcomes the engine computed
 * (SqlDerivation.placeFunnels) instead of JS's, in the order deriveJourneys gives them: each
 * session's funnels in config order, session by session, then the user's (ADR 0017).
 */
export async function journeysWithSqlFunnels(sql: SqlDerivation, users: readonly string[], deriveJourneys: DeriveJourneys): Promise<DeriveJourneys> {
  const bySubject = new Map<string, FunnelOutcome[]>();
  // Read by user, scope, subject and funnel index: each subject's list is in config order.
  for await (const { funnelIndex: _, ...outcome } of sql.funnelOutcomes(users)) {
    const key = subjectKey(outcome.scope, outcome.subjectId);
    const list = bySubject.get(key);
    if (list) list.push(outcome);
    else bySubject.set(key, [outcome]);
  }
  return (user, sessions, events, corrections) => {
    const journeys = deriveJourneys(user, sessions, events, corrections, { funnels: false });
    const funnelOutcomes: FunnelOutcome[] = [];
    for (const key of [...sessions.map((s) => subjectKey('session', s.sessionId)), subjectKey('user', user)]) for (const outcome of bySubject.get(key) ?? []) funnelOutcomes.push(outcome);
    return { ...journeys, funnelOutcomes };
  };
}
