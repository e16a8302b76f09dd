import { type Correction, matchesFilter, type SessionRef } from '../domain/correction.js';
import type { Session, SessionEvent } from '../domain/session.js';
import type { CorrectionRegistry, SessionView } from './kinds/kind.js';
import { CORRECTION_KINDS } from './kinds/registry.js';

/**
 * The corrections (reverted ones included, with who reverted them) that bear on a session: it is
 * named, its user or one of its anonymous ids is merged or unmerged, or an event-level edit
 * matches one of its events (each kind's `touches`). What `explain` and `inspect` show as
 * "every correction applied".
 */
/** The corrections bearing on a user: on any of their sessions, or merging/unmerging any of their ids. Oldest first. */
export function correctionsAffectingUser(
  userIds: ReadonlySet<string>,
  sessions: ReadonlyArray<{ session: Session; events: readonly SessionEvent[] }>,
  all: readonly Correction[],
  registry: CorrectionRegistry = CORRECTION_KINDS,
): Array<Correction & { revertedBy: string | null }> {
  const found = new Map<string, Correction & { revertedBy: string | null }>();
  for (const { session, events } of sessions) for (const c of correctionsAffecting(session, events, all, registry)) found.set(c.id, c);
  const revertedBy = revertedByOf(all);
  for (const c of all) {
    const touchesIds = registry.get(c.change.kind)?.touchesIds?.(c.change, userIds) ?? false;
    if (touchesIds && !found.has(c.id)) found.set(c.id, { ...c, revertedBy: revertedBy.get(c.id) ?? null });
  }
  return all.filter((c) => found.has(c.id)).map((c) => found.get(c.id)!);
}

export function correctionsAffecting(
  session: Session,
  events: readonly SessionEvent[],
  all: readonly Correction[],
  registry: CorrectionRegistry = CORRECTION_KINDS,
): Array<Correction & { revertedBy: string | null }> {
  const view: SessionView = {
    session,
    events,
    ids: new Set([session.userId, ...session.anonymousIds]),
    names: (ref: SessionRef) => ref.sessionId === session.sessionId || ref.firstMessageId === session.firstMessageId,
    anyEvent: (filter) => events.some((e) => matchesFilter(filter, e, session.userId)),
  };
  const revertedBy = revertedByOf(all);
  return all.filter((c) => registry.get(c.change.kind)?.touches(c.change, view) ?? false).map((c) => ({ ...c, revertedBy: revertedBy.get(c.id) ?? null }));
}

function revertedByOf(all: readonly Correction[]): Map<string, string> {
  return new Map(all.flatMap((c) => (c.change.kind === 'revert' ? [[c.change.target, c.id] as const] : [])));
}
