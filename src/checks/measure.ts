/**
 * What each check type measures. A measurement is one value per group (one group, per app
 * version, per day…) with the rows that explain it; thresholds are applied by run-checks.ts.
 * The engines do the scanning: ClickHouse for the analytics side, one grouped index scan for
 * the raw store's received-time counts (shared by every rate check of a run).
 */
import type { JourneyConfig } from '../config/config.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { RawStore, ReceivedCounts } from '../stores/raw-store.js';
import { effectiveCorrections } from '../domain/correction.js';
import { isUntimed } from '../domain/untimed.js';
import { UsageError } from '../errors.js';
import type { CheckDefinition } from './definitions.js';
import { runGolden } from './golden.js';

const DAY_MS = 86_400_000;

export type Unit = 'share' | 'count' | 'ratio' | 'ms' | 'rows';

export interface Group {
  /** '' for a check with a single measurement; an app version, a day… otherwise. */
  key: string;
  /** null: nothing to measure in this group (see note); it neither passes nor fails. */
  value: number | null;
  note?: string;
  /** Rows that explain the value (sample failing rows, counts), shown when the group fails. */
  rows?: Array<Record<string, unknown>>;
}

export interface Measurement {
  unit: Unit;
  groups: Group[];
  /** Set when the check failed outright (no data at all where some was required). */
  failure?: string;
  note?: string;
}

export interface MeasureContext {
  config: JourneyConfig;
  /** The window the run checks; unbounded ends are open. */
  range: { from?: number; to?: number };
  /** "Now" for freshness: --to when given. */
  asOf: number;
  sampleSize: number;
  raw(): Promise<RawStore>;
  analytics(): Promise<AnalyticsStore>;
  /** Raw received counts per UTC day and app version over a range, each range read once per run. */
  receivedPerDay(range: { from?: number; to?: number }): Promise<ReceivedCounts[]>;
  /** The config file the golden derivation uses when the check names none. */
  configPath: string | null;
  updateGolden: boolean;
  /** Environment of the golden derivation's child process (PATH only: nothing of ours leaks into it). */
  childEnv: Record<string, string>;
}

export async function measure(check: CheckDefinition, ctx: MeasureContext): Promise<Measurement> {
  switch (check.type) {
    case 'freshness': {
      const newest = await (await ctx.analytics()).newestEventTime(ctx.range.to);
      if (newest === null) return { unit: 'ms', groups: [], failure: 'no events stored' };
      return { unit: 'ms', groups: [{ key: '', value: ctx.asOf - newest, rows: [{ newest_event: new Date(newest).toISOString(), as_of: new Date(ctx.asOf).toISOString() }] }] };
    }
    case 'volume':
      return volume(check, ctx);
    case 'rejected_rate':
    case 'duplicate_rate':
    case 'late_rate':
      return rate(check, ctx);
    case 'missing_rate':
    case 'accepted_values': {
      const accepted = check.type === 'accepted_values' ? check.values.map((v) => JSON.stringify(v)) : null;
      const profile = await (await ctx.analytics()).propertyProfile(ctx.range, check.event, check.property, accepted, ctx.sampleSize);
      if (profile.rows === 0) return { unit: 'share', groups: [{ key: '', value: null, note: `no ${check.event} events in the window` }] };
      if (check.type === 'missing_rate') {
        return { unit: 'share', groups: [{ key: '', value: profile.missing / profile.rows, rows: profile.missingSample.map((id) => ({ message_id: id, [check.property]: null })) }], note: `${profile.missing} of ${profile.rows} ${check.event} events` };
      }
      const present = profile.rows - profile.missing;
      return {
        unit: 'share',
        groups: [{ key: '', value: present === 0 ? null : profile.unexpected / present, rows: profile.unexpectedValues.map((v) => ({ value: v.value, events: v.rows, example_message_id: v.example })) }],
        note: `${profile.unexpected} of ${present} ${check.event} events with ${check.property}`,
      };
    }
    case 'flagged_share': {
      const share = await (await ctx.analytics()).flagShare(ctx.range, check.flag, ctx.sampleSize);
      if (share.sessions === 0) return { unit: 'share', groups: [{ key: '', value: null, note: 'no sessions in the window' }] };
      return { unit: 'share', groups: [{ key: '', value: share.flagged / share.sessions, rows: share.sample.map((id) => ({ session_id: id })) }], note: `${share.flagged} of ${share.sessions} sessions` };
    }
    case 'funnel_conversion': {
      const funnel = ctx.config.journeys.funnels.find((f) => f.name === check.funnel);
      if (!funnel) throw new UsageError(`check ${check.name}: no funnel "${check.funnel}" in the configuration (known: ${ctx.config.journeys.funnels.map((f) => f.name).join(', ')})`);
      const toStep = check.toStep ?? funnel.steps.length;
      if (toStep > funnel.steps.length) throw new UsageError(`check ${check.name}: funnel ${check.funnel} has ${funnel.steps.length} steps, to_step is ${toStep}`);
      const report = await (await ctx.analytics()).report(ctx.range, check.includeFlagged);
      const found = report.funnels.find((f) => f.funnel === check.funnel);
      const reachedFrom = found?.reachedStep[check.fromStep - 1] ?? 0;
      const reachedTo = found?.reachedStep[toStep - 1] ?? 0;
      if (reachedFrom === 0) return { unit: 'share', groups: [{ key: '', value: null, note: `no session reached step ${check.fromStep}` }] };
      return { unit: 'share', groups: [{ key: '', value: reachedTo / reachedFrom, rows: [{ funnel: check.funnel, from_step: check.fromStep, to_step: toStep, sessions_at_from: reachedFrom, sessions_at_to: reachedTo }] }] };
    }
    case 'reconcile':
      return reconcile(ctx);
    case 'golden_journeys':
      return runGolden(check, ctx);
    case 'sql': {
      const range = { from: ctx.range.from ?? 0, to: ctx.range.to ?? 253402300799999 };
      let result;
      try {
        result = await (await ctx.analytics()).queryRows(check.query, range, ctx.sampleSize);
      } catch (error) {
        if (error instanceof UsageError) throw new UsageError(`check ${check.name}: ${error.message}`, { hint: 'the query may use {from:DateTime64(3)}, {to:DateTime64(3)}, {from_ms:Int64}, {to_ms:Int64} and {db:Identifier}' });
        throw error;
      }
      return { unit: 'rows', groups: [{ key: '', value: result.total, rows: result.rows }] };
    }
  }
}

async function volume(check: Extract<CheckDefinition, { type: 'volume' }>, ctx: MeasureContext): Promise<Measurement> {
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

function volumeOfDays(check: Extract<CheckDefinition, { type: 'volume' }>, ctx: MeasureContext, days: Array<{ day: string; count: number }>): Measurement {
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
  return { unit: check.trailingDays === null ? 'count' : 'ratio', groups, note: ctx.range.to === undefined ? `the newest day (${days[days.length - 1]!.day}) is still filling up and is not judged` : undefined };
}

async function rate(check: Extract<CheckDefinition, { type: 'rejected_rate' | 'duplicate_rate' | 'late_rate' }>, ctx: MeasureContext): Promise<Measurement> {
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
    const denominator = check.type === 'rejected_rate' ? lines : t.accepted;
    const numerator = check.type === 'rejected_rate' ? t.rejected : check.type === 'late_rate' ? t.late : t.extra;
    const base = { ...(check.by ? { app_version: key } : {}), lines, accepted: t.accepted };
    if (denominator === 0 || lines < check.minLines) {
      groups.push({ key, value: null, note: `${lines} line(s), fewer than min_lines ${check.minLines}` });
      continue;
    }
    const detail =
      check.type === 'rejected_rate'
        ? { rejected: t.rejected, top_reasons: [...t.reasons].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).slice(0, 3).map(([r, n]) => `${r} ${n}`) }
        : check.type === 'late_rate'
          ? { late: t.late }
          : { extra_copies: t.extra };
    groups.push({ key, value: numerator / denominator, rows: [{ ...base, ...detail, share: round(numerator / denominator) }] });
  }
  return { unit: 'share', groups, note: check.by && unversioned > 0 ? `${unversioned} line(s) without an app version are not attributed` : undefined };
}

async function reconcile(ctx: MeasureContext): Promise<Measurement> {
  const rawDays = new Map((await (await ctx.raw()).acceptedPerDay(ctx.range)).map((d) => [d.day, d.activity]));
  const stored = await (await ctx.analytics()).reconcileDays(ctx.range);
  const byDay = new Map(stored.map((d) => [d.day, d]));
  const groups: Group[] = [];
  for (const day of [...new Set([...rawDays.keys(), ...byDay.keys()])].sort()) {
    const raw = rawDays.get(day) ?? 0;
    const a = byDay.get(day);
    const events = a?.events ?? 0;
    const problems = [raw !== events ? `raw store has ${raw} accepted events, analytics ${events}` : null, a && a.declared !== a.placed ? `${a.mismatchedSessions} session(s) whose event_count differs from their events (${a.declared} declared, ${a.placed} placed)` : null].filter(
      (p): p is string => p !== null,
    );
    groups.push({
      key: day,
      value: problems.length === 0 ? 0 : 1,
      rows: [{ day, raw_accepted: raw, analytics_events: events, sessions: a?.sessions ?? 0, sessions_declared_events: a?.declared ?? 0, events_in_sessions: a?.placed ?? 0, problem: problems.join('; '), sample_sessions: a?.sample ?? [] }],
    });
  }
  // A steward's drop_events correction removes stored events on purpose: say so beside any difference.
  const drops = effectiveCorrections(await (await ctx.raw()).listCorrections()).filter((c) => c.change.kind === 'drop_events').length;
  return { unit: 'rows', groups, note: `${groups.length} day(s) compared${drops ? `; ${drops} drop_events correction(s) in effect remove events from the analytics side on purpose` : ''}` };
}

export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function sum(counts: Partial<Record<string, number>>): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n ?? 0;
  return total;
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
