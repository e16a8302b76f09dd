/**
 * What `report`, the HTML report and the dashboards' mirror make of rows, the same on every SQL
 * engine: the engine runs the shared definitions (definitions.ts) and reads the sampled sessions'
 * rows; these turn them into the ports' shapes.
 */
import type { FunnelOutcome, Finding } from '../../domain/journey.js';
import type { Session, SessionEvent } from '../../domain/session.js';
import type { SessionDetail } from '../ports/derived-reader.js';
import type { JourneyReport, PipelineFacts, SessionShape } from '../ports/report-aggregates.js';
import { eventsPerSession, flagShares, funnelSteps, labelShares, type QueryDefinition, sessionLengths, sessionsPerDay } from './definitions.js';

type Row = Record<string, unknown>;

/** The report from the rows of its definitions, as `rows` reads them (range and include flag bound by the engine). */
export async function readReport(rows: (definition: QueryDefinition) => Promise<Row[]>, includeFlagged: boolean): Promise<JourneyReport> {
  const report: JourneyReport = { sessionsPerDay: [], sessions: { total: 0, flagged: 0, counted: 0 }, labels: [], flags: [], funnels: [] };
  for (const row of await rows(sessionsPerDay)) {
    const day = { day: row.day as string, sessions: Number(row.sessions), flagged: Number(row.flagged) };
    report.sessionsPerDay.push(day);
    report.sessions.total += day.sessions;
    report.sessions.flagged += day.flagged;
  }
  report.sessions.counted = includeFlagged ? report.sessions.total : report.sessions.total - report.sessions.flagged;
  for (const row of await rows(labelShares)) report.labels.push({ label: row.label as string, sessions: Number(row.sessions), share: Number(row.share) });
  for (const row of await rows(flagShares)) report.flags.push({ flag: row.flag as string, sessions: Number(row.sessions) });
  const funnels = new Map<string, { totalSteps: number; reachedStep: number[] }>();
  for (const row of await rows(funnelSteps)) {
    const entry = funnels.get(row.funnel as string) ?? { totalSteps: Number(row.total_steps), reachedStep: [] };
    entry.reachedStep[Number(row.step) - 1] = Number(row.sessions);
    funnels.set(row.funnel as string, entry);
  }
  for (const [funnel, { totalSteps, reachedStep }] of funnels) {
    const entered = reachedStep[0] ?? 0;
    const converted = reachedStep[totalSteps - 1] ?? 0;
    report.funnels.push({ funnel, totalSteps, entered, reachedStep, converted, conversionRate: entered ? converted / entered : 0 });
  }
  return report;
}

/** Session lengths and events per session, from their definitions' rows (flagged sessions included). */
export async function readSessionShape(rows: (definition: QueryDefinition) => Promise<Row[]>): Promise<SessionShape> {
  const shape = async (definition: QueryDefinition, column: string) => (await rows(definition)).map((row) => ({ bucket: String(row[column]), sessions: Number(row.sessions) }));
  return { lengths: await shape(sessionLengths, 'length'), eventsPerSession: await shape(eventsPerSession, 'events') };
}

/** The sampled sessions' users and time span: each table is read once for all of them, bounded to those (partition pruning). */
export interface SampleScope {
  ids: string[];
  users: string[];
  first: number;
  last: number;
}

/** The rows of the sampled sessions, read by the engine within a scope: events at most `per` a session. */
export interface SampleReads {
  events(scope: SampleScope, per: number): Promise<SessionEvent[]>;
  findings(scope: SampleScope): Promise<Finding[]>;
  /** Session-scope outcomes of the sampled sessions. */
  funnelOutcomes(scope: SampleScope): Promise<FunnelOutcome[]>;
}

/** The sampled sessions (already in the order shown) with their events, findings and funnel outcomes. */
export async function sampleDetails(sessions: readonly Session[], eventsPerSession: number, reads: SampleReads): Promise<SessionDetail[]> {
  if (sessions.length === 0) return [];
  const details = new Map<string, SessionDetail>(sessions.map((session) => [session.sessionId, { session, events: [], findings: [], funnelOutcomes: [] }]));
  const scope: SampleScope = {
    ids: [...details.keys()],
    users: [...new Set(sessions.map((s) => s.userId))],
    first: Math.min(...sessions.map((s) => s.startedAt)),
    last: Math.max(...sessions.map((s) => s.endedAt)),
  };
  for (const e of await reads.events(scope, eventsPerSession)) details.get(e.sessionId)?.events.push(e);
  for (const f of await reads.findings(scope)) details.get(f.sessionId)?.findings.push(f);
  for (const o of await reads.funnelOutcomes(scope)) details.get(o.subjectId)?.funnelOutcomes.push(o);
  return [...details.values()];
}

/** The mirror tables' rows of the pipeline facts; `time` writes a time (epoch ms) as the engine loads it. */
export function pipelineFactRows(facts: PipelineFacts, time: { minute: (epochMs: number) => unknown; instant: (epochMs: number) => unknown }) {
  const minutes = facts.minutes.flatMap((m) => {
    const base = { minute: time.minute(m.bucketStart), app_version: m.appVersion ?? '' };
    const rows = [{ ...base, outcome: 'accepted', reason: '', lines: m.accepted, late: m.late, extra_copies: m.extraCopies }];
    for (const [reason, lines] of Object.entries(m.rejected)) rows.push({ ...base, outcome: 'rejected', reason, lines: lines ?? 0, late: 0, extra_copies: 0 });
    return rows.filter((row) => row.lines > 0 || row.extra_copies > 0);
  });
  const bursts = facts.bursts.map((b) => ({
    app_version: b.appVersion,
    window_start: time.instant(b.windowStart),
    window_end: time.instant(b.windowEnd),
    accepted: b.accepted,
    rejected: b.rejected,
    share: b.share,
    baseline: b.baseline,
    top_reasons: b.reasons.map((r) => `${r.reason} ${r.lines}`),
  }));
  const reverted = new Set(facts.corrections.flatMap((c) => (c.change.kind === 'revert' ? [c.change.target] : [])));
  const corrections = facts.corrections.map((c) => ({
    id: c.id,
    created_at: time.instant(c.createdAt),
    kind: c.change.kind,
    actor: c.actor,
    reason: c.reason,
    ticket: c.ticket ?? '',
    code: 'code' in c.change ? c.change.code : '',
    reverted: reverted.has(c.id) ? 1 : 0,
  }));
  return { pipeline_minutes: minutes, release_bursts: bursts, corrections } as const;
}

/** The row kept beside a published copy: the token it was made from and each mirror table's row count (a table emptied since no longer matches). */
export function publishedFactsRow(rows: ReturnType<typeof pipelineFactRows>, token: string) {
  return { token, pipeline_minutes: rows.pipeline_minutes.length, release_bursts: rows.release_bursts.length, corrections: rows.corrections.length };
}
