import { defineCheckKind } from './kind.js';

export const freshness = defineCheckKind({
  type: 'freshness',
  summary: 'time since the newest stored event (thresholds may be durations: 2h, 1d)',
  keys: [],
  durationThresholds: true,
  parse: () => ({}),
  async measure(_check, ctx) {
    const newest = await (await ctx.analytics()).newestEventTime(ctx.range.to);
    if (newest === null) return { unit: 'ms', groups: [], failure: 'no events stored' };
    return { unit: 'ms', groups: [{ key: '', value: ctx.asOf - newest, rows: [{ newest_event: new Date(newest).toISOString(), as_of: new Date(ctx.asOf).toISOString() }] }] };
  },
});
