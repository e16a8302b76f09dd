import type { IdentityGraph } from '../stores/ports/identity-graph.js';

/**
 * An anonymous id seen with more than pipeline.max_users_per_anonymous_id user ids (a shared
 * device, a login bug, test labels). Stitching links it to its first user id by event time only
 * (the earliest link wins); the later users keep their own events, unlinked.
 */
export interface IdentityConflict {
  anonymous_id: string;
  linked_to: string;
  /** Every user id seen with it, by first event time. */
  user_ids: string[];
  /** pipeline.max_users_per_anonymous_id when it was read. */
  max_users: number;
}

/** The conflicts among these ids (anonymous ids of a user or a session). */
export async function identityConflictsOf(raw: Pick<IdentityGraph, 'anonymousIdUsers'>, ids: readonly string[], maxUsers: number): Promise<IdentityConflict[]> {
  if (ids.length === 0) return [];
  return (await raw.anonymousIdUsers({ minUsers: maxUsers + 1, anonymousIds: ids })).map(({ anonymousId, users }) => ({
    anonymous_id: anonymousId,
    linked_to: users[0]!.userId,
    user_ids: users.map((u) => u.userId),
    max_users: maxUsers,
  }));
}

/** One line per conflict, as inspect and explain show it. */
export function describeConflict(conflict: IdentityConflict): string {
  const others = conflict.user_ids.filter((id) => id !== conflict.linked_to);
  const shown = others.slice(0, 10).join(', ') + (others.length > 10 ? `, … ${others.length - 10} more` : '');
  return `identity conflict: ${conflict.anonymous_id} carries ${conflict.user_ids.length} user ids (more than ${conflict.max_users}); stitched to ${conflict.linked_to} only, not to ${shown}`;
}
