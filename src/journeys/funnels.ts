import type { FunnelOutcome } from '../domain/journey.js';
import { type EventMatcher, matches, type RuleEvent } from './rules.js';

export interface FunnelDefinition {
  name: string;
  /** Steps must all happen within this long of the first step to convert. */
  windowMs: number;
  steps: EventMatcher[][];
}

export interface FunnelProgress {
  startedAt: number | null;
  stepsReached: number;
  evidence: string[];
}

/**
 * The furthest any attempt got: each occurrence of step 1 starts an attempt that follows the
 * steps in order within the window. The first best attempt wins, so the answer is a function
 * of the events alone.
 *
 * Each step's matcher runs once per event: `next[step]` holds, for every position, the first
 * event at or after it that matches the step, so an attempt is one jump per step. Scanning
 * forward per attempt instead was quadratic in a long session full of step-1 events.
 */
export function funnelProgress(funnel: FunnelDefinition, events: readonly RuleEvent[]): FunnelProgress {
  let best: FunnelProgress = { startedAt: null, stepsReached: 0, evidence: [] };
  const count = events.length;
  const next = funnel.steps.map((step) => {
    const table = new Int32Array(count + 1);
    table[count] = count;
    for (let index = count - 1; index >= 0; index -= 1) table[index] = matches(step, events[index]!) ? index : table[index + 1]!;
    return table;
  });
  for (let start = next[0]![0]!; start < count; start = next[0]![start + 1]!) {
    const first = events[start]!;
    const evidence = [first.messageId];
    let position = start + 1;
    for (let step = 1; step < funnel.steps.length; step += 1) {
      position = next[step]![position]!;
      if (position >= count || events[position]!.eventTime - first.eventTime > funnel.windowMs) break;
      evidence.push(events[position]!.messageId);
      position += 1;
    }
    if (evidence.length > best.stepsReached) best = { startedAt: first.eventTime, stepsReached: evidence.length, evidence };
    if (best.stepsReached === funnel.steps.length) break;
  }
  return best;
}

export function funnelOutcome(
  funnel: FunnelDefinition,
  events: readonly RuleEvent[],
  subject: { scope: FunnelOutcome['scope']; subjectId: string; userId: string; fallbackStart: number },
): FunnelOutcome {
  const progress = funnelProgress(funnel, events);
  return {
    scope: subject.scope,
    subjectId: subject.subjectId,
    userId: subject.userId,
    funnel: funnel.name,
    startedAt: progress.startedAt ?? subject.fallbackStart,
    stepsReached: progress.stepsReached,
    totalSteps: funnel.steps.length,
    converted: progress.stepsReached === funnel.steps.length,
    evidence: progress.evidence,
  };
}
