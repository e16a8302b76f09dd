import type { StoredEvent } from '../domain/event.js';
import { type Correction, matchesFilter } from '../domain/correction.js';

/**
 * The effective corrections compiled into what each derivation stage needs. Pure: the same
 * corrections always compile to the same plan, applied in the order they were made.
 */
export interface CorrectionPlan {
  /** Identity: links forced (from → into) and links refused (both directions). */
  forcedLinks: Map<string, string>;
  blockedLinks: Set<string>;
  /** Sessionization: start a session at these events / never start one at these. */
  splitBefore: Set<string>;
  joinBefore: Set<string>;
  /** Event → first message id of the session it is moved to. */
  moves: Map<string, string>;
  /** Steward flags by session (first message id), and flags cleared. */
  sessionFlags: Array<{ firstMessageId: string; code: string; correction: Correction }>;
  filterFlags: Array<{ correction: Correction; code: string; filter: import('../domain/correction.js').EventFilter }>;
  clearedFlags: Array<{ firstMessageId: string; code: string; correction: Correction }>;
  /** Event-level edits, applied in order. */
  eventEdits: Correction[];
  /** Every correction, for explain/inspect. */
  all: Correction[];
}

export const NO_CORRECTIONS: CorrectionPlan = compileCorrections([]);

export function linkKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

export function compileCorrections(effective: readonly Correction[]): CorrectionPlan {
  const plan: CorrectionPlan = {
    forcedLinks: new Map(),
    blockedLinks: new Set(),
    splitBefore: new Set(),
    joinBefore: new Set(),
    moves: new Map(),
    sessionFlags: [],
    filterFlags: [],
    clearedFlags: [],
    eventEdits: [],
    all: [...effective],
  };
  for (const correction of effective) {
    const change = correction.change;
    switch (change.kind) {
      case 'merge_users':
        plan.forcedLinks.set(change.from, change.into);
        plan.blockedLinks.delete(linkKey(change.from, change.into));
        break;
      case 'unmerge_users':
        plan.blockedLinks.add(linkKey(change.a, change.b));
        if (plan.forcedLinks.get(change.a) === change.b) plan.forcedLinks.delete(change.a);
        if (plan.forcedLinks.get(change.b) === change.a) plan.forcedLinks.delete(change.b);
        break;
      case 'split_session':
        plan.splitBefore.add(change.atMessageId);
        plan.joinBefore.delete(change.atMessageId);
        break;
      case 'merge_sessions':
        plan.joinBefore.add(change.second.firstMessageId);
        plan.splitBefore.delete(change.second.firstMessageId);
        break;
      case 'move_event':
        plan.moves.set(change.messageId, change.to.firstMessageId);
        break;
      case 'drop_events':
      case 'rename_event':
      case 'set_property':
        plan.eventEdits.push(correction);
        break;
      case 'flag_session':
        plan.sessionFlags.push({ firstMessageId: change.session.firstMessageId, code: change.code, correction });
        break;
      case 'flag_sessions':
        plan.filterFlags.push({ correction, code: change.code, filter: change.filter });
        break;
      case 'unflag_session':
        plan.clearedFlags.push({ firstMessageId: change.session.firstMessageId, code: change.code, correction });
        break;
      case 'revert':
        break;
    }
  }
  return plan;
}

/** Applies drop/rename/set-property edits to one user's stored events. Dropped events stay in the raw store. */
export function correctEvents(plan: CorrectionPlan, userId: string, events: readonly StoredEvent[]): StoredEvent[] {
  if (plan.eventEdits.length === 0) return [...events];
  const out: StoredEvent[] = [];
  for (const original of events) {
    let event: StoredEvent | null = original;
    for (const correction of plan.eventEdits) {
      const change = correction.change;
      if (event === null) break;
      if (change.kind === 'drop_events' && matchesFilter(change.filter, event, userId)) event = null;
      else if (change.kind === 'rename_event' && event.event === change.from && (change.appVersion === undefined || event.appVersion === change.appVersion)) {
        event = { ...event, event: change.to };
      } else if (change.kind === 'set_property' && matchesFilter(change.filter, event, userId)) {
        const properties = JSON.parse(event.propertiesJson) as Record<string, unknown>;
        properties[change.property] = change.value;
        event = { ...event, propertiesJson: JSON.stringify(properties) };
      }
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
