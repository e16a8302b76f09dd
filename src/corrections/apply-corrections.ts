import type { Correction } from '../domain/correction.js';
import type { StoredEvent } from '../domain/event.js';
import type { CorrectionRegistry } from './kinds/kind.js';
import { CORRECTION_KINDS } from './kinds/registry.js';
import { type CorrectionPlan, emptyPlan, linkKey } from './plan.js';

export type { CorrectionPlan } from './plan.js';
export { linkKey } from './plan.js';

/** Compiles the effective corrections, in the order they were made, with each kind's compile/editEvent. */
export function compileCorrections(effective: readonly Correction[], registry: CorrectionRegistry = CORRECTION_KINDS): CorrectionPlan {
  const plan = emptyPlan(effective);
  for (const correction of effective) {
    const change = correction.change;
    const kind = registry.get(change.kind);
    if (!kind) continue; // a record no registered kind reads (as before: it changes nothing)
    kind.compile?.(change, plan, correction);
    const edit = kind.editEvent;
    if (edit) plan.eventEdits.push({ correction, edit: (event, userId) => edit(change, event, userId) });
  }
  return plan;
}

export const NO_CORRECTIONS: CorrectionPlan = compileCorrections([]);

/** Applies the event-level edits (drop, rename, set property…) to one user's stored events. Dropped events stay in the raw store. */
export function correctEvents(plan: CorrectionPlan, userId: string, events: readonly StoredEvent[]): StoredEvent[] {
  if (plan.eventEdits.length === 0) return [...events];
  const out: StoredEvent[] = [];
  for (const original of events) {
    let event: StoredEvent | null = original;
    for (const { edit } of plan.eventEdits) {
      if (event === null) break;
      event = edit(event, userId);
    }
    if (event !== null) out.push(event);
  }
  return out;
}

/** The identity links after steward overrides: forced links win, refused links are removed. */
export function correctLinks(plan: CorrectionPlan, links: Map<string, string>): Map<string, string> {
  if (plan.forcedLinks.size === 0 && plan.blockedLinks.size === 0) return links;
  const corrected = new Map(links);
  for (const [from, to] of links) if (plan.blockedLinks.has(linkKey(from, to))) corrected.delete(from);
  for (const [from, into] of plan.forcedLinks) corrected.set(from, into);
  return corrected;
}
