import { UsageError } from '../../errors.js';
import { defineCheckKind } from './kind.js';

export const funnelConversion = defineCheckKind({
  type: 'funnel_conversion',
  summary: 'share of sessions reaching from_step that reach to_step of a configured funnel',
  keys: ['funnel', 'from_step', 'to_step', 'include_flagged'],
  parse(entry, { fail, text, positiveInteger }) {
    const fromStep = entry.from_step === undefined ? 1 : entry.from_step;
    const toStep = entry.to_step === undefined ? null : entry.to_step;
    if (!positiveInteger(fromStep)) fail('from_step must be a positive integer');
    if (toStep !== null && (!positiveInteger(toStep) || (toStep as number) <= (fromStep as number))) fail('to_step must be an integer after from_step');
    if (entry.include_flagged !== undefined && typeof entry.include_flagged !== 'boolean') fail('include_flagged must be true or false');
    return { funnel: text('funnel'), fromStep: fromStep as number, toStep: toStep as number | null, includeFlagged: entry.include_flagged === true };
  },
  async measure(check, ctx) {
    const funnel = ctx.config.journeys.funnels.find((f) => f.name === check.funnel);
    if (!funnel) throw new UsageError(`check ${check.name}: no funnel "${check.funnel}" in the configuration (known: ${ctx.config.journeys.funnels.map((f) => f.name).join(', ')})`);
    const toStep = check.toStep ?? funnel.steps.length;
    if (toStep > funnel.steps.length) throw new UsageError(`check ${check.name}: funnel ${check.funnel} has ${funnel.steps.length} steps, to_step is ${toStep}`);
    const report = await (await ctx.analytics()).report(ctx.range, check.includeFlagged);
    const found = report.funnels.find((f) => f.funnel === check.funnel);
    const reachedFrom = found?.reachedStep[check.fromStep - 1] ?? 0;
    const reachedTo = found?.reachedStep[toStep - 1] ?? 0;
    if (reachedFrom === 0) return { unit: 'share', groups: [{ key: '', value: null, note: `no session reached step ${check.fromStep}` }] };
    return {
      unit: 'share',
      groups: [{ key: '', value: reachedTo / reachedFrom, rows: [{ funnel: check.funnel, from_step: check.fromStep, to_step: toStep, sessions_at_from: reachedFrom, sessions_at_to: reachedTo }] }],
    };
  },
});
