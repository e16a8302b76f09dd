import { matchesFilter } from '../domain/correction.js';
import type { Finding } from '../domain/journey.js';
import type { Session } from '../domain/session.js';
import type { CorrectionPlan } from '../corrections/plan.js';
import type { RuleEvent } from './rules.js';

/** Steward flags carry rule version 0: they come from a person, not from a rule. */
export const STEWARD_RULE_VERSION = 0;

/**
 * Applies steward flag actions to one session's automatic findings: a manual flag is added
 * beside the automatic ones (or confirms one with the same code), a cleared flag is removed.
 * Every such finding names the correction, actor and reason in its detail.
 */
export function applyStewardFlags(plan: CorrectionPlan, session: Session, events: readonly RuleEvent[], findings: Finding[]): Finding[] {
  if (plan.sessionFlags.length === 0 && plan.filterFlags.length === 0 && plan.clearedFlags.length === 0) return findings;
  let result = [...findings];
  const base = { kind: 'flag' as const, userId: session.userId, sessionId: session.sessionId, startedAt: session.startedAt };
  const raise = (code: string, correction: { id: string; actor: string; reason: string }, evidence: string[]) => {
    const note = `${correction.id} by ${correction.actor}: ${correction.reason}`;
    const existing = result.find((f) => f.kind === 'flag' && f.name === code);
    if (existing) result = result.map((f) => (f === existing ? { ...f, detail: `${f.detail}; confirmed (${note})` } : f));
    else result.push({ ...base, name: code, ruleVersion: STEWARD_RULE_VERSION, detail: `flagged (${note})`, evidence });
  };
  for (const flag of plan.sessionFlags) if (flag.firstMessageId === session.firstMessageId) raise(flag.code, flag.correction, []);
  for (const flag of plan.filterFlags) {
    const matching = events.filter((event) => matchesFilter(flag.filter, { event: event.event, appVersion: event.appVersion ?? null, eventTime: event.eventTime }, session.userId));
    if (matching.length > 0)
      raise(
        flag.code,
        flag.correction,
        matching.slice(0, 20).map((e) => e.messageId),
      );
  }
  for (const cleared of plan.clearedFlags) {
    if (cleared.firstMessageId === session.firstMessageId) result = result.filter((f) => !(f.kind === 'flag' && f.name === cleared.code));
  }
  return result;
}
