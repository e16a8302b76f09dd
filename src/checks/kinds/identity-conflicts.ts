import type { Group } from '../measure.js';
import { defineCheckKind } from './kind.js';

/**
 * identity_conflicts: per day, anonymous ids that came to carry more than
 * pipeline.max_users_per_anonymous_id user ids that day (a shared device, a login bug, test
 * labels). Stitching links such an id to its first user only (README "What the pipeline
 * does"); this makes the rest visible. Any conflict fails unless thresholds say otherwise.
 */
export const identityConflicts = defineCheckKind({
  type: 'identity_conflicts',
  summary: 'per day, anonymous ids carrying more than pipeline.max_users_per_anonymous_id user ids',
  keys: [],
  anyRowFails: true,
  groupNoun: 'days',
  parse: () => ({}),
  async measure(_check, ctx) {
    const max = ctx.config.pipeline.maxUsersPerAnonymousId;
    const conflicts = await (await ctx.raw()).anonymousIdUsers({ minUsers: max + 1 });
    const byDay = new Map<string, Array<Record<string, unknown>>>();
    for (const { anonymousId, users } of conflicts) {
      const at = users[max]!.firstAt; // when the id got its first user over the limit
      if ((ctx.range.from !== undefined && at < ctx.range.from) || (ctx.range.to !== undefined && at >= ctx.range.to)) continue;
      const day = new Date(at).toISOString().slice(0, 10);
      const rows = byDay.get(day) ?? byDay.set(day, []).get(day)!;
      rows.push({ day, anonymous_id: anonymousId, user_ids: users.length, linked_to: users[0]!.userId, users: users.slice(0, 20).map((u) => u.userId) });
    }
    const groups: Group[] = [...byDay].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, rows]) => ({ key: day, value: rows.length, rows: rows.slice(0, ctx.sampleSize) }));
    if (groups.length === 0) return { unit: 'count', groups: [{ key: '', value: 0 }], note: `no anonymous id carries more than ${max} user ids` };
    return { unit: 'count', groups, note: `${conflicts.length} anonymous id(s) carry more than ${max} user ids; each is linked to its first user only` };
  },
});
