import { defineFlag } from './kind.js';

/**
 * identity_conflict: the session's anonymous id was seen with more than
 * pipeline.max_users_per_anonymous_id user ids (a shared device, a login bug, test labels), so
 * stitching linked it to its first user only. Evidence: the first event per such id; the user
 * ids are in the detail.
 */
export const identityConflict = defineFlag<undefined>({
  name: 'identity_conflict',
  version: 1,
  description: 'anonymous id carries more than max_users_per_anonymous_id user ids; stitched to its first user only',
  detect(_session, events) {
    const byId = new Map<string, { users: readonly string[]; first: string }>();
    for (const event of events) {
      if (event.anonymousIdUsers === undefined || event.anonymousId == null || byId.has(event.anonymousId)) continue;
      byId.set(event.anonymousId, { users: event.anonymousIdUsers, first: event.messageId });
    }
    if (byId.size === 0) return null;
    const parts = [...byId]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, { users }]) => {
        const listed = users.slice(0, 10).join(', ') + (users.length > 10 ? `, … ${users.length - 10} more` : '');
        return `anonymous id ${id} carries ${users.length} user ids (${listed}); stitched to ${users[0]} only`;
      });
    return { name: 'identity_conflict', detail: parts.join('; '), evidence: [...byId.values()].map((c) => c.first) };
  },
});
