import type { StoredEvent } from '../domain/event.js';
import type { RawStore } from '../stores/raw-store.js';
import { attachClientSessionIds } from './client-session-id.js';

/** What derivation reads with the events beyond their stored fields (sessionize says which). */
export interface EventFacts {
  /** client mode: where each event's client session id sits; null: not read. */
  clientSessionIdPaths: readonly string[] | null;
  /** Anonymous ids with more user ids than this mark their events (identity_conflict); null: not read. */
  maxUsersPerAnonymousId: number | null;
}

export const NO_FACTS: EventFacts = { clientSessionIdPaths: null, maxUsersPerAnonymousId: null };

/** Sets the facts on the events: client session ids (from their stored lines) and identity conflicts. */
export async function attachEventFacts(
  raw: Pick<RawStore, 'rawLinesByIdentity' | 'anonymousIdUsers'>,
  events: readonly StoredEvent[],
  identityKeys: readonly string[],
  facts: EventFacts,
): Promise<void> {
  if (facts.clientSessionIdPaths !== null) attachClientSessionIds(events, await raw.rawLinesByIdentity(identityKeys), facts.clientSessionIdPaths);
  await attachIdentityConflicts(raw, events, facts.maxUsersPerAnonymousId);
}

/** Marks events whose anonymous id carries more than `maxUsers` user ids with those ids. */
export async function attachIdentityConflicts(raw: Pick<RawStore, 'anonymousIdUsers'>, events: readonly StoredEvent[], maxUsers: number | null): Promise<void> {
  if (maxUsers === null) return;
  // A loop, not flatMap: an array per event read back cost 0.2–0.4 CPU-s per million (ADR 0028).
  const anonymousIds = new Set<string>();
  for (const event of events) if (event.anonymousId !== null) anonymousIds.add(event.anonymousId);
  if (anonymousIds.size === 0) return;
  markIdentityConflicts(events, await identityConflicts(raw, maxUsers, [...anonymousIds]));
}

/** Anonymous ids carrying more than `maxUsers` user ids, with those ids: of `anonymousIds`, or of the whole store. */
export async function identityConflicts(raw: Pick<RawStore, 'anonymousIdUsers'>, maxUsers: number, anonymousIds?: readonly string[]): Promise<Map<string, string[]>> {
  const found = await raw.anonymousIdUsers({ minUsers: maxUsers + 1, ...(anonymousIds ? { anonymousIds } : {}) });
  return new Map(found.map((c) => [c.anonymousId, c.users.map((u) => u.userId)]));
}

/** Marks each event whose anonymous id is in `conflicts` with that id's user ids. */
export function markIdentityConflicts(events: readonly StoredEvent[], conflicts: ReadonlyMap<string, string[]>): void {
  if (conflicts.size === 0) return;
  for (const event of events) {
    const users = event.anonymousId === null ? undefined : conflicts.get(event.anonymousId);
    if (users !== undefined) event.anonymousIdUsers = users;
  }
}
