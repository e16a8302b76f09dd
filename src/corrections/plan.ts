import type { Correction, EventFilter } from '../domain/correction.js';
import type { StoredEvent } from '../domain/event.js';

/**
 * The effective corrections compiled into what each derivation stage needs (each kind's
 * `compile`/`editEvent` in src/corrections/kinds/ fills it). Pure: the same corrections always
 * compile to the same plan, applied in the order they were made.
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
  filterFlags: Array<{ correction: Correction; code: string; filter: EventFilter }>;
  clearedFlags: Array<{ firstMessageId: string; code: string; correction: Correction }>;
  /** Event-level edits, applied in order: the event changed, or null to leave it out. */
  eventEdits: Array<{ correction: Correction; edit(event: StoredEvent, userId: string): StoredEvent | null }>;
  /** Every correction, for explain/inspect. */
  all: Correction[];
}

export function emptyPlan(all: readonly Correction[]): CorrectionPlan {
  return {
    forcedLinks: new Map(),
    blockedLinks: new Set(),
    splitBefore: new Set(),
    joinBefore: new Set(),
    moves: new Map(),
    sessionFlags: [],
    filterFlags: [],
    clearedFlags: [],
    eventEdits: [],
    all: [...all],
  };
}

export function linkKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}
