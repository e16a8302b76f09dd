/** The three received-line rates (rejected, duplicate, late): one parse and one measurement, told apart by type. */
import type { CheckDefinition } from '../../domain/check.js';
import type { Group, Measurement, MeasureContext } from '../measure.js';
import { round, sum } from '../measure.js';
import { type CheckKind, defineCheckKind } from './kind.js';

export type RateType = 'rejected_rate' | 'duplicate_rate' | 'late_rate';
export interface RateParams {
  by: 'app_version' | null;
  minLines: number;
}

export function rateKind(type: RateType, summary: string): CheckKind<RateParams> {
  return defineCheckKind<RateParams>({
    type,
    summary,
    keys: ['by', 'min_lines'],
    share: true,
    parse(entry, { fail, positiveInteger }) {
      if (entry.by !== undefined && entry.by !== 'app_version') fail(`by must be app_version (got ${JSON.stringify(entry.by)})`);
      const minLines = entry.min_lines === undefined ? 1 : entry.min_lines;
      if (!positiveInteger(minLines)) fail('min_lines must be a positive integer');
      return { by: entry.by === 'app_version' ? 'app_version' : null, minLines: minLines as number };
    },
    measure: (check, ctx) => rate(type, check, ctx),
  });
}

async function rate(type: RateType, check: CheckDefinition<RateParams>, ctx: MeasureContext): Promise<Measurement> {
  const totals = new Map<string, { accepted: number; rejected: number; late: number; extra: number; reasons: Map<string, number> }>();
  let unversioned = 0;
  for (const row of await ctx.receivedPerDay(ctx.range)) {
    if (check.by === 'app_version' && row.appVersion === null) {
      unversioned += row.accepted + sum(row.rejected);
      continue;
    }
    const key = check.by === 'app_version' ? row.appVersion! : '';
    let t = totals.get(key);
    if (!t) totals.set(key, (t = { accepted: 0, rejected: 0, late: 0, extra: 0, reasons: new Map() }));
    t.accepted += row.accepted;
    t.late += row.late;
    t.extra += row.extraCopies;
    for (const [reason, n] of Object.entries(row.rejected)) {
      t.rejected += n ?? 0;
      t.reasons.set(reason, (t.reasons.get(reason) ?? 0) + (n ?? 0));
    }
  }
  const groups: Group[] = [];
  for (const key of [...totals.keys()].sort()) {
    const t = totals.get(key)!;
    const lines = t.accepted + t.rejected;
    const denominator = type === 'rejected_rate' ? lines : t.accepted;
    const numerator = type === 'rejected_rate' ? t.rejected : type === 'late_rate' ? t.late : t.extra;
    const base = { ...(check.by ? { app_version: key } : {}), lines, accepted: t.accepted };
    if (denominator === 0 || lines < check.minLines) {
      groups.push({ key, value: null, note: `${lines} line(s), fewer than min_lines ${check.minLines}` });
      continue;
    }
    const detail =
      type === 'rejected_rate'
        ? {
            rejected: t.rejected,
            top_reasons: [...t.reasons]
              .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
              .slice(0, 3)
              .map(([r, n]) => `${r} ${n}`),
          }
        : type === 'late_rate'
          ? { late: t.late }
          : { extra_copies: t.extra };
    groups.push({ key, value: numerator / denominator, rows: [{ ...base, ...detail, share: round(numerator / denominator) }] });
  }
  return { unit: 'share', groups, note: check.by && unversioned > 0 ? `${unversioned} line(s) without an app version are not attributed` : undefined };
}
