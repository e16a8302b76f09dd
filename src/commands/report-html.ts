import { writeFile } from 'node:fs/promises';
import { renderHtmlReport } from '../render/html-report/render-html-report.js';
import type { HtmlReportInput } from '../render/html-report/render-html-report.js';
import type { ReportAggregates, SessionDetail, SessionShape } from '../stores/analytics-store.js';
import type { TimeRange } from '../stores/raw-store.js';
import type { CommandContext } from './context.js';
import { funnelStepNames } from './dashboards.js';

/** Sessions shown as timelines: enough to see patterns, few enough to read (and to keep the file small). */
export const TIMELINE_SESSIONS = 40;
export const TIMELINE_EVENTS = 200;

export interface ReportViews {
  shape: SessionShape;
  sessions: SessionDetail[];
}

/** What the HTML report reads besides `report`'s figures, on the store `report` has open: aggregates and a bounded sample, never every session. */
export async function readReportViews(analytics: Pick<ReportAggregates, 'sessionShape' | 'sampleSessions'>, range: TimeRange): Promise<ReportViews> {
  return { shape: await analytics.sessionShape(range), sessions: await analytics.sampleSessions(range, TIMELINE_SESSIONS, TIMELINE_EVENTS) };
}

/** `journeyctl report --html FILE`: the report's figures as charts with their tables, plus session timelines. */
export async function writeReportHtml(context: CommandContext, file: string, report: NonNullable<HtmlReportInput['report']>, views: ReportViews): Promise<void> {
  const { shape, sessions } = views;
  const html = renderHtmlReport({
    title: 'journeyctl journey report',
    generatedAt: Date.now(),
    report,
    shape,
    funnelSteps: funnelStepNames(context.config),
    timelines: { heading: `Journeys: ${sessions.length} sessions (flagged and labelled first)`, sessions },
  });
  await writeFile(file, html);
  context.log(`HTML report written to ${file} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB; open it in a browser, it loads nothing from the network)`);
}

/** `journeyctl inspect user <id> --html FILE`: one user's sessions (as `inspect` read them) as timelines. */
export async function writeUserHtml(context: CommandContext, file: string, userId: string, sessions: readonly SessionDetail[]): Promise<void> {
  const html = renderHtmlReport({
    title: `journeyctl · user ${userId}`,
    generatedAt: Date.now(),
    report: null,
    shape: null,
    funnelSteps: funnelStepNames(context.config),
    timelines: { heading: `Sessions of ${userId} (${sessions.length})`, sessions },
  });
  await writeFile(file, html);
  context.log(`HTML timeline of ${userId} written to ${file} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB; it loads nothing from the network)`);
}
