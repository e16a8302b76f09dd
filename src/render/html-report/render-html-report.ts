import type { SessionDetail, SessionShape } from '../../stores/analytics-store.js';
import { barChart, columnChart } from './charts.js';

/** What the HTML report shows: `report`'s figures (the same object `report --output json` prints) plus shapes and timelines. */
export interface HtmlReportInput {
  title: string;
  generatedAt: number;
  report: {
    range: { from: string | null; to: string | null };
    includeFlagged: boolean;
    sessionsPerDay: Array<{ day: string; sessions: number; flagged: number }>;
    sessions: { total: number; flagged: number; counted: number };
    labels: Array<{ label: string; sessions: number; share: number }>;
    flags: Array<{ flag: string; sessions: number }>;
    funnels: Array<{ funnel: string; steps?: readonly string[]; totalSteps: number; entered: number; reachedStep: number[]; converted: number; conversionRate: number }>;
    rejected: { total: number; byReason: Partial<Record<string, number>>; byAppVersion: Record<string, number> };
    bursts: Array<Record<string, unknown>>;
  } | null;
  shape: SessionShape | null;
  /** Configured funnels' step names, by funnel (step k is named by its event). */
  funnelSteps: Record<string, readonly string[]>;
  timelines: { heading: string; sessions: readonly SessionDetail[] };
}

const escape = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A chart beside the table of its numbers (the table is what screen readers and copy-paste use). */
function figure(id: string, caption: string, svg: string, head: readonly string[], rows: ReadonlyArray<{ attrs: string; cells: readonly unknown[] }>): string {
  return `<figure class="chart" id="${id}"><figcaption>${escape(caption)}</figcaption><div class="pair"><div class="svg" role="img" aria-label="${escape(caption)}">${svg}</div>
<table><thead><tr>${head.map((h) => `<th scope="col">${escape(h)}</th>`).join('')}</tr></thead><tbody>
${rows.map((r) => `<tr ${r.attrs}>${r.cells.map((c, i) => (i === 0 ? `<th scope="row">${escape(c)}</th>` : `<td>${escape(c)}</td>`)).join('')}</tr>`).join('\n')}
</tbody></table></div></figure>`;
}

function journeySections(input: HtmlReportInput): string {
  const report = input.report;
  if (!report) return '';
  const parts: string[] = [];
  parts.push(`<p class="summary" id="sessions-summary" data-total="${report.sessions.total}" data-flagged="${report.sessions.flagged}" data-counted="${report.sessions.counted}">
${report.sessions.total} sessions, ${report.sessions.flagged} flagged — ${report.includeFlagged ? 'flagged sessions included in journey figures' : 'flagged sessions left out of journey figures'}.</p>`);
  for (const funnel of report.funnels) {
    const names = funnel.steps ?? input.funnelSteps[funnel.funnel] ?? [];
    const steps = funnel.reachedStep.map((count, i) => ({ name: `${i + 1} ${names[i] ?? 'step'}`, count, rate: funnel.entered ? count / funnel.entered : 0 }));
    parts.push(
      figure(
        `funnel-${funnel.funnel}`,
        `Funnel ${funnel.funnel}: converted ${funnel.converted} of ${funnel.entered} (${percent(funnel.conversionRate)})`,
        barChart(
          steps.map((s) => s.name),
          steps.map((s) => s.count),
        ),
        ['step', 'sessions', 'of entered'],
        steps.map((s, i) => ({ attrs: `data-funnel="${escape(funnel.funnel)}" data-step="${i + 1}" data-sessions="${s.count}"`, cells: [s.name, s.count, percent(s.rate)] })),
      ),
    );
  }
  if (report.labels.length)
    parts.push(
      figure(
        'labels',
        `Label shares (of ${report.sessions.counted} counted sessions)`,
        barChart(
          report.labels.map((l) => l.label),
          report.labels.map((l) => l.share),
          { percent: true },
        ),
        ['label', 'sessions', 'share'],
        report.labels.map((l) => ({ attrs: `data-label="${escape(l.label)}" data-sessions="${l.sessions}" data-share="${l.share}"`, cells: [l.label, l.sessions, percent(l.share)] })),
      ),
    );
  if (report.flags.length)
    parts.push(
      figure(
        'flags',
        'Flagged sessions by flag',
        barChart(
          report.flags.map((f) => f.flag),
          report.flags.map((f) => f.sessions),
          { colors: report.flags.map(() => '#b5485d') },
        ),
        ['flag', 'sessions', 'share of all'],
        report.flags.map((f) => ({
          attrs: `data-flag="${escape(f.flag)}" data-sessions="${f.sessions}"`,
          cells: [f.flag, f.sessions, percent(report.sessions.total ? f.sessions / report.sessions.total : 0)],
        })),
      ),
    );
  parts.push(
    figure(
      'sessions-per-day',
      'Sessions per day (UTC)',
      columnChart(
        report.sessionsPerDay.map((d) => d.day),
        [
          { name: 'not flagged', values: report.sessionsPerDay.map((d) => d.sessions - d.flagged) },
          { name: 'flagged', values: report.sessionsPerDay.map((d) => d.flagged) },
        ],
      ),
      ['day', 'sessions', 'flagged'],
      report.sessionsPerDay.map((d) => ({ attrs: `data-day="${d.day}"`, cells: [d.day, d.sessions, d.flagged] })),
    ),
  );
  if (input.shape) {
    const { lengths, eventsPerSession } = input.shape;
    parts.push(
      figure(
        'session-lengths',
        'Session length',
        barChart(
          lengths.map((b) => b.bucket),
          lengths.map((b) => b.sessions),
        ),
        ['length', 'sessions'],
        lengths.map((b) => ({ attrs: '', cells: [b.bucket, b.sessions] })),
      ),
    );
    parts.push(
      figure(
        'events-per-session',
        'Events per session',
        barChart(
          eventsPerSession.map((b) => b.bucket),
          eventsPerSession.map((b) => b.sessions),
        ),
        ['events', 'sessions'],
        eventsPerSession.map((b) => ({ attrs: '', cells: [b.bucket, b.sessions] })),
      ),
    );
  }
  const reasons = Object.entries(report.rejected.byReason)
    .map(([reason, n]) => [reason, n ?? 0] as const)
    .sort((a, b) => b[1] - a[1]);
  if (reasons.length)
    parts.push(
      figure(
        'rejected-reasons',
        `Rejected lines by reason (${report.rejected.total} in all)`,
        barChart(
          reasons.map((r) => r[0]),
          reasons.map((r) => r[1]),
          { colors: reasons.map(() => '#8c8c8c') },
        ),
        ['reason', 'lines'],
        reasons.map(([reason, n]) => ({ attrs: `data-reason="${escape(reason)}"`, cells: [reason, n] })),
      ),
    );
  const burstVersions = new Set(report.bursts.map((b) => String(b.app_version)));
  const versions = Object.entries(report.rejected.byAppVersion).sort((a, b) => b[1] - a[1]);
  if (versions.length)
    parts.push(
      figure(
        'rejected-versions',
        'Rejected lines by app version (red: the version had a release burst)',
        barChart(
          versions.map(([v]) => (burstVersions.has(v) ? `${v} ⚠ burst` : v)),
          versions.map(([, n]) => n),
          { colors: versions.map(([v]) => (burstVersions.has(v) ? '#c62828' : '#8c8c8c')) },
        ),
        ['app version', 'lines', 'release burst'],
        versions.map(([v, n]) => ({ attrs: `data-app-version="${escape(v)}"${burstVersions.has(v) ? ' class="burst"' : ''}`, cells: [v, n, burstVersions.has(v) ? 'yes' : ''] })),
      ),
    );
  if (report.bursts.length)
    parts.push(`<section id="bursts"><h3>Release bursts</h3><table><thead><tr><th scope="col">app version</th><th scope="col">window (UTC)</th><th scope="col">rejected</th><th scope="col">share</th><th scope="col">normal</th><th scope="col">top reasons</th></tr></thead><tbody>
${report.bursts.map((b) => `<tr class="burst"><th scope="row">${escape(b.app_version)}</th><td>${escape(b.window_start)} → ${escape(b.window_end)}</td><td>${escape(b.rejected)} of ${escape(b.lines)}</td><td>${percent(Number(b.share))}</td><td>${percent(Number(b.baseline))}</td><td>${escape((b.top_reasons as string[]).join(', '))}</td></tr>`).join('\n')}</tbody></table></section>`);
  return parts.join('\n');
}

const TIMELINE_WIDTH = 640;

/** One row per session: events as marks along the session's own time span, evidence events highlighted. */
function timelineRow(detail: SessionDetail): string {
  const { session, events, findings } = detail;
  const evidence = new Set(findings.flatMap((f) => f.evidence));
  const span = Math.max(1, session.endedAt - session.startedAt);
  const x = (t: number) => 8 + ((t - session.startedAt) / span) * (TIMELINE_WIDTH - 16);
  const marks = events
    .map((e) => {
      const hit = evidence.has(e.messageId);
      return `<circle cx="${x(e.eventTime).toFixed(1)}" cy="14" r="${hit ? 6 : 4}" class="${hit ? 'evidence' : 'event'}"><title>${escape(`${iso(e.eventTime)} ${e.event}${hit ? ' (evidence)' : ''}`)}</title></circle>`;
    })
    .join('');
  const badges = [...session.labels.map((l) => `<span class="badge label">${escape(l)}</span>`), ...session.flags.map((f) => `<span class="badge flag">${escape(f)}</span>`)].join(' ');
  const minutes = ((session.endedAt - session.startedAt) / 60_000).toFixed(1);
  const shown = events.length < session.eventCount ? ` (first ${events.length} shown)` : '';
  return `<tr data-session="${escape(session.sessionId)}"><th scope="row"><code>${escape(session.sessionId.slice(0, 12))}</code><br><small>${escape(session.userId)}</small></th>
<td><small>${iso(session.startedAt)} · ${minutes} min · ${session.eventCount} events${shown}</small><br>
<svg class="timeline" width="${TIMELINE_WIDTH}" height="28" viewBox="0 0 ${TIMELINE_WIDTH} 28" role="img" aria-label="${escape(`${events.length} events: ${events.map((e) => e.event).join(', ')}`)}"><line x1="8" y1="14" x2="${TIMELINE_WIDTH - 8}" y2="14" class="axis"/>${marks}</svg></td>
<td>${badges || '<small>none</small>'}</td></tr>`;
}

const STYLE = `
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330; }
body { max-width: 1280px; margin: 0 auto; padding: 16px 24px; }
h1 { font-size: 1.5rem; margin: 0 0 4px; } h2 { font-size: 1.2rem; margin-top: 28px; border-bottom: 1px solid #d5dae3; }
.meta, small { color: #5a6272; }
figure.chart { margin: 16px 0; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.pair { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.svg svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e4e7ee; vertical-align: top; }
td { font-variant-numeric: tabular-nums; }
tr.burst th, tr.burst td { color: #c62828; }
.badge { display: inline-block; padding: 1px 6px; margin: 1px; border-radius: 8px; font-size: 0.8rem; }
.badge.label { background: #e3ecf8; color: #1f4f8f; } .badge.flag { background: #fbe3e6; color: #9b1c31; }
svg.timeline .axis { stroke: #c3c9d4; stroke-width: 2; }
svg.timeline .event { fill: #3b6fb6; } svg.timeline .evidence { fill: #e07b39; stroke: #7a3200; stroke-width: 1.5; }
.legend span { margin-right: 12px; }
@media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
`;

/** One self-contained HTML document: inline CSS and SVG, no script, no external resource. */
export function renderHtmlReport(input: HtmlReportInput): string {
  const range = input.report?.range;
  const rangeText = range ? `${range.from ?? 'the beginning'} → ${range.to ?? 'now'}` : '';
  const timelines = input.timelines.sessions.length
    ? `<p class="legend"><span><svg width="12" height="12"><circle cx="6" cy="6" r="4" fill="#3b6fb6"/></svg> event</span><span><svg width="14" height="14"><circle cx="7" cy="7" r="6" fill="#e07b39"/></svg> evidence of a label or flag</span> Each row spans its own session, start to end.</p>
<table id="timelines"><thead><tr><th scope="col">session · user</th><th scope="col">events in time</th><th scope="col">labels and flags</th></tr></thead><tbody>
${input.timelines.sessions.map(timelineRow).join('\n')}
</tbody></table>`
    : '<p>No sessions.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escape(input.title)}</title><style>${STYLE}</style></head>
<body><header><h1>${escape(input.title)}</h1><p class="meta">Generated ${iso(input.generatedAt)} by journeyctl${rangeText ? ` · sessions starting ${escape(rangeText)}` : ''}</p></header>
${input.report ? `<section id="journeys"><h2>Journeys</h2>\n${journeySections(input)}</section>` : ''}
<section id="sessions"><h2>${escape(input.timelines.heading)}</h2>
${timelines}</section>
</body></html>
`;
}
