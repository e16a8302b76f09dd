/**
 * Steward corrections: append-only records that derivation applies deterministically, so every
 * reprocess reproduces them and `fix revert` removes them as if never applied. Sessions are
 * referred to by their first event's message id, which (unlike a session id) survives the
 * session being re-derived.
 */

export interface EventFilter {
  event?: string;
  appVersion?: string;
  userId?: string;
  /** Event time bounds, epoch ms: [since, until). */
  since?: number;
  until?: number;
}

export interface SessionRef {
  sessionId: string;
  userId: string;
  firstMessageId: string;
}

export type CorrectionChange =
  | { kind: 'merge_users'; from: string; into: string }
  | { kind: 'unmerge_users'; a: string; b: string }
  | { kind: 'split_session'; session: SessionRef; atMessageId: string }
  | { kind: 'merge_sessions'; first: SessionRef; second: SessionRef }
  | { kind: 'move_event'; messageId: string; userId: string; to: SessionRef }
  | { kind: 'drop_events'; filter: EventFilter }
  | { kind: 'rename_event'; from: string; to: string; appVersion?: string }
  | { kind: 'set_property'; filter: EventFilter; property: string; value: unknown }
  | { kind: 'flag_session'; session: SessionRef; code: string }
  | { kind: 'flag_sessions'; filter: EventFilter; code: string }
  | { kind: 'unflag_session'; session: SessionRef; code: string }
  | { kind: 'revert'; target: string };

export type CorrectionKind = CorrectionChange['kind'];

export interface Correction {
  id: string;
  change: CorrectionChange;
  actor: string;
  reason: string;
  ticket: string | null;
  createdAt: number;
}

/** The corrections in force: every one not reverted, in the order they were made. */
export function effectiveCorrections(all: readonly Correction[]): Correction[] {
  const reverted = new Set(all.flatMap((c) => (c.change.kind === 'revert' ? [c.change.target] : [])));
  return all.filter((c) => c.change.kind !== 'revert' && !reverted.has(c.id));
}

export function matchesFilter(filter: EventFilter, event: { event: string; appVersion: string | null; eventTime: number }, userId?: string): boolean {
  if (filter.event !== undefined && event.event !== filter.event) return false;
  if (filter.appVersion !== undefined && event.appVersion !== filter.appVersion) return false;
  if (filter.since !== undefined && event.eventTime < filter.since) return false;
  if (filter.until !== undefined && event.eventTime >= filter.until) return false;
  if (filter.userId !== undefined && userId !== filter.userId) return false;
  return true;
}
