import type { Session } from '../../domain/session.js';
import type { SessionDetail } from '../ports/derived-reader.js';
import type { TimeRange } from '../ports/event-log.js';
import type { JourneyReport, PipelineFacts, PipelineFactsMirror, ReportAggregates, SessionShape } from '../ports/report-aggregates.js';
import { type ClickHouseContext, rangeParams, selectList, toClickHouseTime } from './clickhouse-connection.js';
import { eventMapper, findingMapper, funnelMapper, type Mapper, type Row, sessionMapper } from './clickhouse-mappers.js';
import type { QueryDefinition } from '../sql/definitions.js';
import { clickHouseReportDialect } from '../sql/dialect.js';
import { pipelineFactRows, publishedFactsRow, readReport, readSessionShape, sampleDetails, type SampleScope } from '../sql/report-rows.js';
import { FACTS_PUBLISHED_TABLE } from './mirror-schema.js';
import { TABLES, type TableSpec } from './schema.js';

/** `journeyctl report` and the HTML report: the SQL is shared with the Grafana dashboards and BigQuery (src/stores/sql/). */
export function clickHouseReportAggregates(ctx: ClickHouseContext): ReportAggregates {
  const { db } = ctx;

  /** Rows of a shared query definition, its range and include flag bound as parameters. */
  const definedRows =
    (range: TimeRange, includeFlagged: boolean) =>
    async (definition: QueryDefinition): Promise<Row[]> => {
      const rows: Row[] = [];
      for await (const row of ctx.select(definition.sql(clickHouseReportDialect(db)), { ...rangeParams(range), include: includeFlagged ? 1 : 0 })) rows.push(row);
      return rows;
    };

  return {
    report: (range: TimeRange, includeFlagged: boolean): Promise<JourneyReport> => readReport(definedRows(range, includeFlagged), includeFlagged),

    sessionShape: (range: TimeRange): Promise<SessionShape> => readSessionShape(definedRows(range, true)),

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
      // One read per table for all the sampled sessions, bounded to their users and time span (partition pruning).
      const collect = async <T>(spec: TableSpec, mapper: Mapper<T>, time: string, where: string, order: string, scope: SampleScope): Promise<T[]> => {
        const items: T[] = [];
        for await (const row of ctx.select(
          `SELECT ${selectList(spec)} FROM ${db}.${spec.name} FINAL WHERE user_id IN {users:Array(String)}
           AND ${time} >= fromUnixTimestamp64Milli({first:Int64}) AND ${time} <= fromUnixTimestamp64Milli({last:Int64}) AND ${where} ORDER BY ${order}`,
          { ...scope, per: eventsPerSession },
        ))
          items.push(mapper.fromRow(row));
        return items;
      };
      return sampleDetails(sessions, eventsPerSession, {
        events: (scope) => collect(TABLES.events, eventMapper, 'event_time', 'session_id IN {ids:Array(String)}', 'session_id, event_time, message_id LIMIT {per:UInt32} BY session_id', scope),
        findings: (scope) => collect(TABLES.findings, findingMapper, 'started_at', 'session_id IN {ids:Array(String)}', 'session_id, kind, name', scope),
        funnelOutcomes: (scope) => collect(TABLES.funnel_outcomes, funnelMapper, 'started_at', "scope = 'session' AND subject_id IN {ids:Array(String)}", 'subject_id, funnel', scope),
      });
    },
  };
}

/** The mirror tables (mirror-schema.ts) the pipeline-health and stewardship dashboards read. */
export function clickHousePipelineFacts(ctx: ClickHouseContext): PipelineFactsMirror {
  return {
    async publishPipelineFacts(facts: PipelineFacts, token?: string): Promise<void> {
      const rows = pipelineFactRows(facts, { minute: (ms) => Math.trunc(ms / 1000), instant: toClickHouseTime });
      // The token goes first and comes back last: a copy cut off part-way has none, so it is published again.
      await ctx.run(`TRUNCATE TABLE ${ctx.db}.${FACTS_PUBLISHED_TABLE}`, `replace ${FACTS_PUBLISHED_TABLE}`);
      // A copy, replaced whole: a reader between the two statements sees the table empty for a moment.
      for (const [table, values] of Object.entries(rows)) {
        await ctx.run(`TRUNCATE TABLE ${ctx.db}.${table}`, `replace ${table}`);
        await ctx.insert(table, [...values]);
      }
      if (token !== undefined) await ctx.insert(FACTS_PUBLISHED_TABLE, [publishedFactsRow(rows, token)]);
    },

    async pipelineFactsToken(): Promise<string | null> {
      const { db } = ctx;
      const found: Row[] = [];
      const query = `SELECT token,
        pipeline_minutes = (SELECT count() FROM ${db}.pipeline_minutes)
          AND release_bursts = (SELECT count() FROM ${db}.release_bursts)
          AND corrections = (SELECT count() FROM ${db}.corrections) AS whole
        FROM ${db}.${FACTS_PUBLISHED_TABLE} LIMIT 2`;
      for await (const row of ctx.select(query, {})) found.push(row);
      return found.length === 1 && Number(found[0]!.whole) === 1 ? String(found[0]!.token) : null;
    },
  };
}
