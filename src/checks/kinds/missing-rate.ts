import { defineCheckKind } from './kind.js';

export const missingRate = defineCheckKind({
  type: 'missing_rate',
  summary: 'share of an event whose property is missing (event, property)',
  keys: ['event', 'property'],
  share: true,
  parse: (_entry, { text }) => ({ event: text('event'), property: text('property') }),
  async measure(check, ctx) {
    const profile = await (await ctx.analytics()).propertyProfile(ctx.range, check.event, check.property, null, ctx.sampleSize);
    if (profile.rows === 0) return { unit: 'share', groups: [{ key: '', value: null, note: `no ${check.event} events in the window` }] };
    return {
      unit: 'share',
      groups: [{ key: '', value: profile.missing / profile.rows, rows: profile.missingSample.map((id) => ({ message_id: id, [check.property]: null })) }],
      note: `${profile.missing} of ${profile.rows} ${check.event} events`,
    };
  },
});
