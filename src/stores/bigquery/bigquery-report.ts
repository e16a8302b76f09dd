import type { Session } from '../../domain/session.js';
import { eventMapper, findingMapper, funnelMapper, type Mapper, sessionMapper } from '../clickhouse/clickhouse-mappers.js';
import type { SessionDetail } from '../ports/derived-reader.js';
import type { TimeRange } from '../ports/event-log.js';
import type { JourneyReport, PipelineFacts, PipelineFactsMirror, ReportAggregates, SessionShape } from '../ports/report-aggregates.js';
import type { QueryDefinition } from '../sql/definitions.js';
import { bigQueryReportDialect } from '../sql/dialect.js';
import { pipelineFactRows, readReport, readSessionShape, sampleDetails, type SampleScope } from '../sql/report-rows.js';
import { type BigQueryContext, rangeParams } from './bigquery-connection.js';
import type { CostGuard } from './bigquery-cost.js';
import { BQ_TABLES, type BigQueryTableSpec, selectList } from './bigquery-schema.js';

/**
 * `journeyctl report` and the HTML report on BigQuery: the shared definitions' BigQuery renderings
 * (src/stores/sql/), every value a named parameter, every query dry-run first (bigquery-cost.ts).
 */
export function bigQueryReportAggregates(ctx: BigQueryContext, guard: CostGuard): ReportAggregates {
  const dialect = bigQueryReportDialect((name) => ctx.table(name));

  /** Rows of a shared query definition, its range and include flag bound as parameters. */
  const definedRows = (range: TimeRange, includeFlagged: boolean) => (definition: QueryDefinition) =>
    guard.rows(definition.sql(dialect), { ...rangeParams(range), include: includeFlagged ? 1 : 0 }, `read ${definition.id}`);

  /** Rows of the sampled sessions in one table, bounded to their users and time span (partition pruning and clustering). */
  const collect = async <T>(spec: BigQueryTableSpec, mapper: Mapper<T>, where: string, order: string, scope: SampleScope, per?: number): Promise<T[]> => {
    const time = spec.partitionColumn;
    const rows = await guard.rows(
      `SELECT ${selectList(spec)} FROM ${ctx.table(spec.name)} WHERE user_id IN UNNEST(@users)
       AND ${time} >= TIMESTAMP_MILLIS(@first) AND ${time} <= TIMESTAMP_MILLIS(@last) AND ${where} ORDER BY ${order}`,
      { ...scope, ...(per === undefined ? {} : { per }) },
      `read the sampled sessions' ${spec.name}`,
    );
    return rows.map((row) => mapper.fromRow(row));
  };

  return {
    report: (range: TimeRange, includeFlagged: boolean): Promise<JourneyReport> => readReport(definedRows(range, includeFlagged), includeFlagged),

    sessionShape: (range: TimeRange): Promise<SessionShape> => readSessionShape(definedRows(range, true)),

    async sampleSessions(range: TimeRange, limit: number, eventsPerSession: number): Promise<SessionDetail[]> {
      // Sessions with findings first (they are what people look for), then a stable pseudo-random
      // sample (FARM_FINGERPRINT: not ClickHouse's cityHash64, so the two engines sample different sessions).
      const rows = await guard.rows(
        `SELECT ${selectList(BQ_TABLES.sessions)} FROM ${ctx.table('sessions')} WHERE started_at >= TIMESTAMP_MILLIS(@from) AND started_at < TIMESTAMP_MILLIS(@to)
         ORDER BY ARRAY_LENGTH(flags) > 0 DESC, ARRAY_LENGTH(labels) > 0 DESC, FARM_FINGERPRINT(session_id), session_id LIMIT @limit`,
        { ...rangeParams(range), limit },
        'sample sessions',
      );
      const sessions: Session[] = rows.map((row) => sessionMapper.fromRow(row));
      return sampleDetails(sessions, eventsPerSession, {
        // QUALIFY keeps the first `per` events of each session (ClickHouse: LIMIT … BY).
        events: (scope, per) =>
          collect(
            BQ_TABLES.events,
            eventMapper,
            'session_id IN UNNEST(@ids) QUALIFY ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY event_time, message_id) <= @per',
            'session_id, event_time, message_id',
            scope,
            per,
          ),
        findings: (scope) => collect(BQ_TABLES.findings, findingMapper, 'session_id IN UNNEST(@ids)', 'session_id, kind, name', scope),
        funnelOutcomes: (scope) => collect(BQ_TABLES.funnel_outcomes, funnelMapper, "scope = 'session' AND subject_id IN UNNEST(@ids)", 'subject_id, funnel', scope),
      });
    },
  };
}

/** The dashboards' mirror tables on BigQuery, each replaced whole by one load job (WRITE_TRUNCATE: free, and atomic per table). */
export function bigQueryPipelineFacts(ctx: BigQueryContext): PipelineFactsMirror {
  return {
    async publishPipelineFacts(facts: PipelineFacts): Promise<void> {
      const iso = (epochMs: number) => new Date(epochMs).toISOString();
      for (const [table, rows] of Object.entries(pipelineFactRows(facts, { minute: iso, instant: iso }))) await ctx.load(table, rows, { truncate: true });
    },
  };
}
