import type { Group } from '../measure.js';
import { defineCheckKind } from './kind.js';

const USERS_PER_READ = 250;

/**
 * client_sessions: per day, the share of client sessions (events carrying a client session id,
 * pipeline.client_session_id_paths) that map to exactly one gap session: how far the tracker's
 * idea of a session is from the server's, whichever mode is stored. Derived again from the raw
 * store, before steward corrections; `error_if: { below: 0.8 }` fails a day below 80 %.
 */
export const clientSessions = defineCheckKind({
  type: 'client_sessions',
  summary: 'per day, share of client session ids that map to exactly one inactivity-gap session',
  keys: [],
  groupNoun: 'days',
  parse: () => ({}),
  async measure(_check, ctx) {
    // The derivation's modules load when this check runs, not with the config that lists the
    // check kinds (every command's start-up: ~4 CPU-ms, ADR 0016).
    const [{ loadEventsOfUsers }, { createModeComparison }] = await Promise.all([import('../../pipeline/derive-users.js'), import('../../pipeline/compare-session-modes.js')]);
    const raw = await ctx.raw();
    const pipeline = ctx.config.pipeline;
    const lookback = pipeline.sessionMaxLengthMs;
    const keys = await raw.identityKeysInRange({ from: (ctx.range.from ?? 0) - lookback, to: (ctx.range.to ?? Number.MAX_SAFE_INTEGER - lookback) + lookback });
    const owners = await raw.canonicalOf(keys);
    const users = [...new Set(keys.map((key) => owners.get(key) ?? key))].sort();
    const comparison = createModeComparison(pipeline, ctx.sampleSize);
    for (let start = 0; start < users.length; start += USERS_PER_READ) {
      const chunk = users.slice(start, start + USERS_PER_READ);
      const byUser = await loadEventsOfUsers(raw, chunk, new Map(chunk.map((user) => [user, user])), { clientSessionIdPaths: pipeline.clientSessionIdPaths, maxUsersPerAnonymousId: null });
      for (const user of chunk) comparison.add(user, byUser.get(user) ?? [], ctx.range);
    }
    const days = comparison.result();
    if (days.length === 0) return { unit: 'share', groups: [{ key: '', value: null, note: 'no events with a client session id in the window' }] };
    const groups: Group[] = days.map((d) => ({
      key: d.day,
      value: d.exactlyOne / d.clientSessions,
      note: `${d.exactlyOne} of ${d.clientSessions} client sessions`,
      rows: [{ day: d.day, client_sessions: d.clientSessions, exactly_one: d.exactlyOne, split_by_gap: d.split, merged_by_gap: d.merged, sample_client_sessions: d.sample }],
    }));
    const total = days.reduce((sum, d) => sum + d.clientSessions, 0);
    const one = days.reduce((sum, d) => sum + d.exactlyOne, 0);
    return { unit: 'share', groups, note: `${one} of ${total} client sessions map to exactly one gap session (${((100 * one) / total).toFixed(1)} %)` };
  },
});
