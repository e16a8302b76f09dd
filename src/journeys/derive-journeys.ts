import { type CorrectionPlan, NO_CORRECTIONS } from '../corrections/apply-corrections.js';
import type { Finding, FunnelOutcome } from '../domain/journey.js';
import type { Session, SessionEvent } from '../domain/session.js';
import { flagRuleVersion, sessionFlags } from './flags.js';
import { FLAG_KINDS } from './flags/registry.js';
import { funnelOutcome } from './funnels.js';
import type { JourneyRules } from './parse-journey-config.js';
import { evaluateRule, type RuleEvent, toRuleEvents } from './rules.js';
import { type JourneySignals, NO_SIGNALS } from './signals.js';
import { applyStewardFlags } from './steward-flags.js';

export interface UserJourneys {
  /** The sessions with their label and flag names filled in (sorted). */
  sessions: Session[];
  findings: Finding[];
  funnelOutcomes: FunnelOutcome[];
}

/**
 * Labels, flags and funnel outcomes of one user's sessions: a pure function of the events, the
 * rules and the store-wide signals (copies, release bursts; see src/pipeline/journey-signals.ts),
 * read through `signals` so a long run sees them refreshed.
 */
export function createDeriveJourneys(config: JourneyRules, signals: () => JourneySignals = () => NO_SIGNALS) {
  const flagKinds = config.flagKinds ?? FLAG_KINDS;
  /** `funnels: false`: no funnel outcomes (the SQL derivation computes them in the engine, ADR 0017). */
  return function deriveJourneys(
    userId: string,
    sessions: readonly Session[],
    events: readonly SessionEvent[],
    corrections: CorrectionPlan = NO_CORRECTIONS,
    options: { funnels?: boolean } = {},
  ): UserJourneys {
    const funnels = options.funnels === false ? [] : config.funnels;
    // Properties are parsed once per event and shared by every rule, flag and funnel.
    const all = toRuleEvents(events);
    const bySession = new Map<string, RuleEvent[]>();
    events.forEach((event, index) => {
      const list = bySession.get(event.sessionId);
      if (list) list.push(all[index]!);
      else bySession.set(event.sessionId, [all[index]!]);
    });
    const findings: Finding[] = [];
    const funnelOutcomes: FunnelOutcome[] = [];
    const labelled: Session[] = [];
    for (const session of sessions) {
      const ruleEvents = bySession.get(session.sessionId) ?? [];
      const base = { userId, sessionId: session.sessionId, startedAt: session.startedAt };
      let sessionFindings: Finding[] = [];
      for (const rule of config.labels) {
        const match = evaluateRule(rule, ruleEvents);
        if (match) sessionFindings.push({ kind: 'label', name: rule.name, ruleVersion: rule.version, ...base, ...match });
      }
      for (const flag of sessionFlags(session, ruleEvents, config.flags, signals(), flagKinds)) {
        sessionFindings.push({ kind: 'flag', ruleVersion: flagRuleVersion(flag.name, flagKinds), ...base, ...flag });
      }
      sessionFindings = applyStewardFlags(corrections, session, ruleEvents, sessionFindings);
      for (const funnel of funnels) {
        funnelOutcomes.push(funnelOutcome(funnel, ruleEvents, { scope: 'session', subjectId: session.sessionId, userId, fallbackStart: session.startedAt }));
      }
      findings.push(...sessionFindings);
      labelled.push({
        ...session,
        labels: sessionFindings
          .filter((f) => f.kind === 'label')
          .map((f) => f.name)
          .sort(),
        flags: sessionFindings
          .filter((f) => f.kind === 'flag')
          .map((f) => f.name)
          .sort(),
      });
    }
    if (sessions.length > 0) {
      for (const funnel of funnels) {
        funnelOutcomes.push(funnelOutcome(funnel, all, { scope: 'user', subjectId: userId, userId, fallbackStart: sessions[0]!.startedAt }));
      }
    }
    return { sessions: labelled, findings, funnelOutcomes };
  };
}
