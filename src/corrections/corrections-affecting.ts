import { type Correction, matchesFilter, type SessionRef } from '../domain/correction.js';
import type { Session, SessionEvent } from '../domain/session.js';

/**
 * The corrections (reverted ones included, with who reverted them) that bear on a session: it is
 * named, its user or one of its anonymous ids is merged or unmerged, or an event-level edit
 * matches one of its events. What `explain` and `inspect` show as "every correction applied".
 */
/** The corrections bearing on a user: on any of their sessions, or merging/unmerging any of their ids. Oldest first. */
export function correctionsAffectingUser(userIds: ReadonlySet<string>, sessions: ReadonlyArray<{ session: Session; events: readonly SessionEvent[] }>, all: readonly Correction[]): Array<Correction & { revertedBy: string | null }> {
  const found = new Map<string, Correction & { revertedBy: string | null }>();
  for (const { session, events } of sessions) for (const c of correctionsAffecting(session, events, all)) found.set(c.id, c);
  const revertedBy = new Map(all.flatMap((c) => (c.change.kind === 'revert' ? [[c.change.target, c.id] as const] : [])));
  for (const c of all) {
    const change = c.change;
    const touchesIds = (change.kind === 'merge_users' && (userIds.has(change.from) || userIds.has(change.into))) || (change.kind === 'unmerge_users' && (userIds.has(change.a) || userIds.has(change.b)));
    if (touchesIds && !found.has(c.id)) found.set(c.id, { ...c, revertedBy: revertedBy.get(c.id) ?? null });
  }
  return all.filter((c) => found.has(c.id)).map((c) => found.get(c.id)!);
}

export function correctionsAffecting(session: Session, events: readonly SessionEvent[], all: readonly Correction[]): Array<Correction & { revertedBy: string | null }> {
  const ids = new Set([session.userId, ...session.anonymousIds]);
  const names = (ref: SessionRef) => ref.sessionId === session.sessionId || ref.firstMessageId === session.firstMessageId;
  const eventMatch = (filter: Parameters<typeof matchesFilter>[0]) => events.some((e) => matchesFilter(filter, e, session.userId));
  const revertedBy = new Map(all.flatMap((c) => (c.change.kind === 'revert' ? [[c.change.target, c.id] as const] : [])));
  return all
    .filter((c) => {
      const change = c.change;
      switch (change.kind) {
        case 'merge_users':
          return ids.has(change.from) || ids.has(change.into);
        case 'unmerge_users':
          return ids.has(change.a) || ids.has(change.b);
        case 'split_session':
        case 'flag_session':
        case 'unflag_session':
          return names(change.session);
        case 'merge_sessions':
          return names(change.first) || names(change.second);
        case 'move_event':
          return names(change.to) || events.some((e) => e.messageId === change.messageId);
        case 'drop_events':
        case 'set_property':
        case 'flag_sessions':
          return change.filter.userId === session.userId || eventMatch(change.filter);
        case 'rename_event':
          return events.some((e) => e.event === change.to && (change.appVersion === undefined || e.appVersion === change.appVersion));
        case 'revert':
          return false;
      }
    })
    .map((c) => ({ ...c, revertedBy: revertedBy.get(c.id) ?? null }));
}
