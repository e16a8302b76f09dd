import type { Session } from '../../domain/session.js';
import type { SessionDetail } from '../ports/derived-reader.js';
import type { TimeRange } from '../ports/event-log.js';
import type { JourneyReport, PipelineFacts, PipelineFactsMirror, ReportAggregates, SessionShape } from '../ports/report-aggregates.js';
import { type ClickHouseContext, rangeParams, selectList, toClickHouseTime } from './clickhouse-connection.js';
import { eventMapper, findingMapper, funnelMapper, type Mapper, type Row, sessionMapper } from './clickhouse-mappers.js';
import { type QueryDefinition, eventsPerSession, flagShares, funnelSteps, labelShares, sessionLengths, sessionsPerDay } from '../sql/definitions.js';
import { clickHouseReportDialect } from '../sql/dialect.js';
import { TABLES, type TableSpec } from './schema.js';

/** `journeyctl report` and the HTML report: the SQL is shared with the Grafana dashboards and BigQuery (src/stores/sql/). */
export function clickHouseReportAggregates(ctx: ClickHouseContext): ReportAggregates {
  const { db } = ctx;

  /** Rows of a shared query definition, its range and include flag bound as parameters. */
  const definedRows = async (definition: QueryDefinition, range: TimeRange, includeFlagged: boolean): Promise<Row[]> => {
    const rows: Row[] = [];
    for await (const row of ctx.select(definition.sql(clickHouseReportDialect(db)), { ...rangeParams(range), include: includeFlagged ? 1 : 0 })) rows.push(row);
    return rows;
  };

  return {
    async report(range: TimeRange, includeFlagged: boolean): Promise<JourneyReport> {
      const rows = (definition: QueryDefinition) => definedRows(definition, range, includeFlagged);
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
    },

    async sessionShape(range: TimeRange): Promise<SessionShape> {
      const shape = async (definition: QueryDefinition, column: string) => (await definedRows(definition, range, true)).map((row) => ({ bucket: String(row[column]), sessions: Number(row.sessions) }));
      return { lengths: await shape(sessionLengths, 'length'), eventsPerSession: await shape(eventsPerSession, 'events') };
    },

    async sampleSessions(range: TimeRange, limit: number, eventsPerSession: number): Promise<SessionDetail[]> {
      const params = { ...rangeParams(range), limit, per: eventsPerSession };
      const inRange = 'started_at >= fromUnixTimestamp64Milli({from:Int64}) AND started_at < fromUnixTimestamp64Milli({to:Int64})';
      const sessions: Session[] = [];
      // Sessions with findings first (they are what people look for), then a stable pseudo-random sample.
      for await (const row of ctx.select(
        `SELECT ${selectList(TABLES.sessions)} FROM ${db}.sessions FINAL WHERE ${inRange}
         ORDER BY notEmpty(flags) DESC, notEmpty(labels) DESC, cityHash64(session_id), session_id LIMIT {limit:UInt32}`,
        params,
      ))
        sessions.push(sessionMapper.fromRow(row));
      if (sessions.length === 0) return [];
      const details = new Map<string, SessionDetail>(sessions.map((session) => [session.sessionId, { session, events: [], findings: [], funnelOutcomes: [] }]));
      // One read per table for all the sampled sessions, bounded to their users and time span (partition pruning).
      const scope = {
        ids: [...details.keys()],
        users: [...new Set(sessions.map((s) => s.userId))],
        first: Math.min(...sessions.map((s) => s.startedAt)),
        last: Math.max(...sessions.map((s) => s.endedAt)),
      };
      const collect = async <T>(spec: TableSpec, mapper: Mapper<T>, time: string, where: string, order: string, add: (item: T) => void) => {
        for await (const row of ctx.select(
          `SELECT ${selectList(spec)} FROM ${db}.${spec.name} FINAL WHERE user_id IN {users:Array(String)}
           AND ${time} >= fromUnixTimestamp64Milli({first:Int64}) AND ${time} <= fromUnixTimestamp64Milli({last:Int64}) AND ${where} ORDER BY ${order}`,
          { ...scope, per: eventsPerSession },
        ))
          add(mapper.fromRow(row));
      };
      await collect(TABLES.events, eventMapper, 'event_time', 'session_id IN {ids:Array(String)}', 'session_id, event_time, message_id LIMIT {per:UInt32} BY session_id', (e) =>
        details.get(e.sessionId)?.events.push(e),
      );
      await collect(TABLES.findings, findingMapper, 'started_at', 'session_id IN {ids:Array(String)}', 'session_id, kind, name', (f) => details.get(f.sessionId)?.findings.push(f));
      await collect(TABLES.funnel_outcomes, funnelMapper, 'started_at', "scope = 'session' AND subject_id IN {ids:Array(String)}", 'subject_id, funnel', (o) =>
        details.get(o.subjectId)?.funnelOutcomes.push(o),
      );
      return [...details.values()];
    },
  };
}

/** The mirror tables (mirror-schema.ts) the pipeline-health and stewardship dashboards read. */
export function clickHousePipelineFacts(ctx: ClickHouseContext): PipelineFactsMirror {
  return {
    async publishPipelineFacts(facts: PipelineFacts): Promise<void> {
      const minutes = facts.minutes.flatMap((m) => {
        const base = { minute: Math.trunc(m.bucketStart / 1000), app_version: m.appVersion ?? '' };
        const rows = [{ ...base, outcome: 'accepted', reason: '', lines: m.accepted, late: m.late, extra_copies: m.extraCopies }];
        for (const [reason, lines] of Object.entries(m.rejected)) rows.push({ ...base, outcome: 'rejected', reason, lines: lines ?? 0, late: 0, extra_copies: 0 });
        return rows.filter((row) => row.lines > 0 || row.extra_copies > 0);
      });
      const bursts = facts.bursts.map((b) => ({
        app_version: b.appVersion,
        window_start: toClickHouseTime(b.windowStart),
        window_end: toClickHouseTime(b.windowEnd),
        accepted: b.accepted,
        rejected: b.rejected,
        share: b.share,
        baseline: b.baseline,
        top_reasons: b.reasons.map((r) => `${r.reason} ${r.lines}`),
      }));
      const reverted = new Set(facts.corrections.flatMap((c) => (c.change.kind === 'revert' ? [c.change.target] : [])));
      const corrections = facts.corrections.map((c) => ({
        id: c.id,
        created_at: toClickHouseTime(c.createdAt),
        kind: c.change.kind,
        actor: c.actor,
        reason: c.reason,
        ticket: c.ticket ?? '',
        code: 'code' in c.change ? c.change.code : '',
        reverted: reverted.has(c.id) ? 1 : 0,
      }));
      // A copy, replaced whole: a reader between the two statements sees the table empty for a moment.
      for (const [table, values] of [
        ['pipeline_minutes', minutes],
        ['release_bursts', bursts],
        ['corrections', corrections],
      ] as const) {
        await ctx.run(`TRUNCATE TABLE ${ctx.db}.${table}`, `replace ${table}`);
        await ctx.insert(table, values as unknown[]);
      }
    },
  };
}
