import type { CheckDefinition } from '../../domain/check.js';
import { isUntimed } from '../../domain/untimed.js';
import { DAY_MS, dayOf, type Group, type Measurement, type MeasureContext, medianOf, round } from '../measure.js';
import { defineCheckKind } from './kind.js';

export interface VolumeParams {
  of: 'events' | 'sessions' | 'rejected';
  trailingDays: number | null;
  minHistory: number;
  minBaseline: number;
}

export const volume = defineCheckKind<VolumeParams>({
  type: 'volume',
  summary: 'events, sessions or rejected lines per day, or their ratio to the trailing median (relative_to)',
  keys: ['of', 'relative_to', 'min_history', 'min_baseline'],
  groupNoun: 'days',
  parse(entry, { fail, positiveInteger, isObject }) {
    const of = entry.of === undefined ? 'events' : entry.of;
    if (of !== 'events' && of !== 'sessions' && of !== 'rejected') fail(`of must be events, sessions or rejected (got ${JSON.stringify(entry.of)})`);
    let trailingDays: number | null = null;
    if (entry.relative_to !== undefined) {
      const rel = entry.relative_to;
      if (!isObject(rel) || !positiveInteger(rel.trailing_days) || Object.keys(rel).some((k) => k !== 'trailing_days'))
        fail('relative_to must be { trailing_days: N } (the median of the N days before)');
      else trailingDays = rel.trailing_days as number;
    }
    const minHistory = entry.min_history === undefined ? 1 : entry.min_history;
    if (!positiveInteger(minHistory)) fail('min_history must be a positive integer (days with data before the one measured)');
    const minBaseline = entry.min_baseline === undefined ? 1 : entry.min_baseline;
    if (!positiveInteger(minBaseline)) fail('min_baseline must be a positive integer (the median is at least this, so a quiet history does not turn a handful into a spike)');
    return { of: of as 'events', trailingDays, minHistory: minHistory as number, minBaseline: minBaseline as number };
  },
  measure: measureVolume,
});

async function measureVolume(check: CheckDefinition<VolumeParams>, ctx: MeasureContext): Promise<Measurement> {
  const history = check.trailingDays ?? 0;
  const widened = { from: ctx.range.from === undefined ? undefined : ctx.range.from - history * DAY_MS, to: ctx.range.to };
  let days: Array<{ day: string; count: number }>;
  let untimedNote: string | undefined;
  if (check.of === 'rejected') {
    // Rejected lines alone (a small table, read by received time): no pass over the accepted events.
    const perDay = new Map<string, number>();
    const untimedDays = new Map<string, number>();
    for await (const line of (await ctx.raw()).streamRejected(widened)) {
      const day = dayOf(line.receivedAt);
      const into = isUntimed(line.reason) ? untimedDays : perDay;
      into.set(day, (into.get(day) ?? 0) + 1);
    }
    days = [...perDay].map(([day, count]) => ({ day, count })).sort((a, b) => a.day.localeCompare(b.day));
    if (untimedDays.size > 0) {
      const total = [...untimedDays.values()].reduce((sum, count) => sum + count, 0);
      untimedNote = `${total} unparseable line(s) have no event time and are not counted per day (received ${[...untimedDays.keys()].sort().join(', ')})`;
    }
  } else {
    days = await (await ctx.analytics()).dailyCounts(check.of, widened);
  }
  const measured = volumeOfDays(check, ctx, days);
  return untimedNote ? { ...measured, note: measured.note ? `${measured.note}; ${untimedNote}` : untimedNote } : measured;
}

function volumeOfDays(check: CheckDefinition<VolumeParams>, ctx: MeasureContext, days: Array<{ day: string; count: number }>): Measurement {
  if (days.length === 0) return { unit: check.trailingDays ? 'ratio' : 'count', groups: [], failure: check.of === 'rejected' ? undefined : `no ${check.of} stored in the window`, note: 'no data' };
  const counts = new Map(days.map((d) => [d.day, d.count]));
  const first = days[0]!.day;
  // Without --to, the newest day is still filling up: it is not judged.
  const lastComplete = ctx.range.to === undefined ? dayOf(Date.parse(`${days[days.length - 1]!.day}T00:00:00Z`) - DAY_MS) : dayOf(ctx.range.to - 1);
  const start = ctx.range.from === undefined ? first : dayOf(ctx.range.from);
  const groups: Group[] = [];
  for (let t = Date.parse(`${start}T00:00:00Z`); dayOf(t) <= lastComplete; t += DAY_MS) {
    const day = dayOf(t);
    const count = counts.get(day) ?? 0;
    if (check.trailingDays === null) {
      groups.push({ key: day, value: count, rows: [{ day, [check.of]: count }] });
      continue;
    }
    const previous: number[] = [];
    for (let back = 1; back <= check.trailingDays; back += 1) {
      const earlier = dayOf(t - back * DAY_MS);
      if (earlier >= first) previous.push(counts.get(earlier) ?? 0);
    }
    if (previous.length < check.minHistory) {
      groups.push({ key: day, value: null, note: `${previous.length} day(s) of history, ${check.minHistory} needed` });
      continue;
    }
    const median = medianOf(previous);
    const ratio = count / Math.max(median, check.minBaseline);
    groups.push({ key: day, value: ratio, rows: [{ day, [check.of]: count, trailing_median: median, ratio: round(ratio) }] });
  }
  return {
    unit: check.trailingDays === null ? 'count' : 'ratio',
    groups,
    note: ctx.range.to === undefined ? `the newest day (${days[days.length - 1]!.day}) is still filling up and is not judged` : undefined,
  };
}
