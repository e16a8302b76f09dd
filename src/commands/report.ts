import Table from 'cli-table3';
import type { RejectReason } from '../domain/event.js';
import { isUntimed } from '../domain/untimed.js';
import type { JourneyReport } from '../stores/analytics-store.js';
import type { FunnelDefinition } from '../journeys/funnels.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { readStoredBursts } from '../pipeline/journey-signals.js';
import { burstRecord } from '../render/records.js';
import { COMPACT_TABLE_CHARS, tableStyle } from '../render/terminal.js';
import { openAnalyticsStore, openRawStore } from '../stores/open-stores.js';
import type { TimeRange } from '../stores/raw-store.js';
import { type CommandContext, parseDurationFlag, parseTimeRange } from './context.js';
import { emptyResultMessage, storedEventSpan } from './empty-result.js';

export interface ReportOptions {
  from?: string;
  to?: string;
  tz: string;
  output?: string;
  includeFlagged: boolean;
  wait: string;
  /** Also write the self-contained HTML report to this file (stdout gets the report only with --output). */
  html?: string;
}

export interface FullReport extends Omit<JourneyReport, 'funnels'> {
  /** Each funnel with its steps named by their events (`product_viewed`, …), from the config. */
  funnels: Array<JourneyReport['funnels'][number] & { steps: string[] }>;
  range: { from: string | null; to: string | null };
  includeFlagged: boolean;
  /** Rejected lines in the range by received time; `untimed` could not be parsed and have no event time of their own. */
  rejected: { total: number; byReason: Partial<Record<RejectReason, number>>; byAppVersion: Record<string, number>; untimed: number };
  /** Release bursts overlapping the range (as `export bursts` shows them). */
  bursts: Array<Record<string, unknown>>;
}

/** `journeyctl report`: funnel conversion, label shares, flags, sessions per day and rejected accounting. */
export async function runReport(context: CommandContext, options: ReportOptions): Promise<FullReport> {
  const range: TimeRange = parseTimeRange(options);
  const output = resolveOutput(options.output, OUTPUTS.report, context.interactive);
  // The HTML module (echarts) loads while the stores open; its views are read on the same open store.
  const htmlModule = options.html === undefined ? undefined : import('./report-html.js');
  const raw = await openRawStore(context.config);
  let report: FullReport;
  let views: import('./report-html.js').ReportViews | undefined;
  try {
    const rejected: FullReport['rejected'] = { total: 0, byReason: {}, byAppVersion: {}, untimed: 0 };
    for await (const line of raw.streamRejected(range)) {
      rejected.total += 1;
      rejected.byReason[line.reason] = (rejected.byReason[line.reason] ?? 0) + 1;
      if (isUntimed(line.reason)) rejected.untimed += 1;
      const version = line.appVersion ?? 'unknown';
      rejected.byAppVersion[version] = (rejected.byAppVersion[version] ?? 0) + 1;
    }
    const bursts = (await readStoredBursts(raw)).filter((b) => (range.to === undefined || b.windowStart < range.to) && (range.from === undefined || b.windowEnd > range.from)).map(burstRecord);
    const analytics = await openAnalyticsStore(context.config, raw, { command: 'journeyctl report', waitMs: parseDurationFlag('wait', options.wait), log: context.log });
    try {
      const journeys = await analytics.report(range, options.includeFlagged);
      if (journeys.sessions.total === 0 && context.io.stderr.isTTY) context.log(emptyResultMessage('sessions', range, options.tz, {}, await storedEventSpan(analytics)));
      report = {
        range: { from: range.from === undefined ? null : new Date(range.from).toISOString(), to: range.to === undefined ? null : new Date(range.to).toISOString() },
        includeFlagged: options.includeFlagged,
        ...journeys,
        funnels: journeys.funnels.map((funnel) => ({
          ...funnel,
          steps: stepNames(
            context.config.journeys.funnels.find((f) => f.name === funnel.funnel),
            funnel.totalSteps,
          ),
        })),
        rejected,
        bursts,
      };
      if (htmlModule) views = await (await htmlModule).readReportViews(analytics, range);
    } finally {
      await analytics.close();
    }
  } finally {
    await raw.close();
  }
  if (htmlModule && options.html !== undefined && views) {
    await (await htmlModule).writeReportHtml(context, options.html, report, views);
    if (options.output === undefined) return report;
  }
  const out = context.io.stdout;
  if (output === 'json') out.write(`${JSON.stringify(report)}\n`);
  else if (output === 'ndjson') for (const [section, value] of Object.entries(report)) out.write(`${JSON.stringify({ section, value })}\n`);
  else out.write(renderReport(report, context.color));
  return report;
}

/** A funnel step as people name it: its event (`product_viewed`), or its alternatives (`a | b`). */
function stepNames(funnel: FunnelDefinition | undefined, totalSteps: number): string[] {
  return Array.from({ length: totalSteps }, (_, step) => {
    const names = funnel?.steps[step]?.flatMap((matcher) => matcher.events) ?? [];
    return names.length > 0 ? names.join(' | ') : `step ${step + 1}`;
  });
}

function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

export function renderReport(report: FullReport, color: boolean): string {
  const style = tableStyle(color);
  const chars = COMPACT_TABLE_CHARS;
  const parts: string[] = [];
  const { sessions } = report;
  parts.push(
    `Sessions: ${sessions.total} (${sessions.flagged} flagged; ${report.includeFlagged ? 'flagged sessions included' : 'flagged sessions left out of journey figures, --include-flagged to keep them'})`,
  );
  const days = new Table({ head: ['day (UTC)', 'sessions', 'flagged', ''], style, chars });
  const busiest = Math.max(1, ...report.sessionsPerDay.map((d) => d.sessions));
  for (const day of report.sessionsPerDay) days.push([day.day, day.sessions, day.flagged, bar(day.sessions / busiest)]);
  parts.push(days.toString());
  for (const funnel of report.funnels) {
    const table = new Table({ head: [`funnel ${funnel.funnel}`, 'sessions', 'of entered', ''], style, chars });
    funnel.reachedStep.forEach((count, step) =>
      table.push([`${step + 1}. ${funnel.steps[step] ?? `step ${step + 1}`}`, count, percent(funnel.entered ? count / funnel.entered : 0), bar(funnel.entered ? count / funnel.entered : 0)]),
    );
    parts.push(`${table.toString()}\n  converted ${funnel.converted} of ${funnel.entered} (${percent(funnel.conversionRate)})`);
  }
  const labels = new Table({ head: ['label', 'sessions', 'share', ''], style, chars });
  for (const label of report.labels) labels.push([label.label, label.sessions, percent(label.share), bar(label.share)]);
  parts.push(report.labels.length ? labels.toString() : 'Labels: none');
  const flags = new Table({ head: ['flag', 'sessions'], style, chars });
  for (const flag of report.flags) flags.push([flag.flag, flag.sessions]);
  parts.push(report.flags.length ? flags.toString() : 'Flags: none');
  const rejected = new Table({ head: ['rejected reason', 'lines'], style, chars });
  for (const [reason, count] of Object.entries(report.rejected.byReason).sort(([, a], [, b]) => (b ?? 0) - (a ?? 0))) rejected.push([reason, count ?? 0]);
  parts.push(
    report.rejected.total
      ? `${rejected.toString()}\n  by app version: ${Object.entries(report.rejected.byAppVersion)
          .sort(([, a], [, b]) => b - a)
          .map(([version, count]) => `${version} ${count}`)
          .join(', ')}\n  rejected lines count by received time${
          report.rejected.untimed ? `; ${report.rejected.untimed} could not be parsed and have no event time, so they count by when journeyctl received them` : ''
        }`
      : 'Rejected: none',
  );
  const bursts = new Table({ head: ['release burst: app version', 'window (UTC)', 'rejected', 'share', 'normal', 'top reasons'], style, chars });
  for (const b of report.bursts)
    bursts.push([
      String(b.app_version),
      `${String(b.window_start).slice(0, 16)} → ${String(b.window_end).slice(11, 16)}`,
      `${b.rejected} of ${b.lines}`,
      percent(Number(b.share)),
      percent(Number(b.baseline)),
      (b.top_reasons as string[]).join(', '),
    ]);
  parts.push(report.bursts.length ? bursts.toString() : 'Release bursts: none');
  return `${parts.join('\n\n')}\n`;
}
