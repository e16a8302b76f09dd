import { defineCheckKind } from './kind.js';

/** `flag: '*'` counts sessions carrying any flag. */
const ANY_FLAG = '*';

export const flaggedShare = defineCheckKind({
  type: 'flagged_share',
  summary: 'share of sessions carrying a flag (flag)',
  keys: ['flag'],
  share: true,
  parse: (_entry, { text }) => ({ flag: text('flag') }),
  async measure(check, ctx) {
    const share = await (await ctx.analytics()).flagShare(ctx.range, check.flag === ANY_FLAG ? null : check.flag, ctx.sampleSize);
    if (share.sessions === 0) return { unit: 'share', groups: [{ key: '', value: null, note: 'no sessions in the window' }] };
    return {
      unit: 'share',
      groups: [{ key: '', value: share.flagged / share.sessions, rows: share.sample.map((id) => ({ session_id: id })) }],
      note: `${share.flagged} of ${share.sessions} sessions`,
    };
  },
});
