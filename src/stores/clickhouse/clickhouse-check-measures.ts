import { UsageError } from '../../errors.js';
import type { CheckFailureRow, CheckMeasures, PropertyProfile, SessionPlacementDay } from '../ports/check-measures.js';
import type { TimeRange } from '../ports/event-log.js';
import { type ClickHouseContext, MAX_TIME, rangeParams, toClickHouseTime } from './clickhouse-connection.js';
import type { Row } from './clickhouse-mappers.js';
import { dailyCountsSql, flagShareSql, newestEventTimeSql, propertyProfileSql, sessionPlacementSql } from '../sql/check-measures.js';
import { isReadOnlyQuery } from '../sql/read-only.js';
import { CHECK_FAILURES_TABLE, READ_SETTINGS } from './schema.js';

/** The measures check types read; the engine scans and aggregates (SQL in src/stores/sql/check-measures.ts, shared with BigQuery). */
export function clickHouseCheckMeasures(ctx: ClickHouseContext): CheckMeasures {
  const { db } = ctx;
  const t = (name: string) => `${db}.${name}`;

  /** The engine answered with an error (bad SQL in a check): the check is wrong, not the store. */
  const queryFailure = (error: unknown): Error => {
    const message = (error as Error).message ?? String(error);
    if (/Code: \d+|DB::Exception|Syntax error|Unknown (identifier|table|function)/i.test(message) || (error as { code?: unknown }).code !== undefined) {
      return new UsageError(`the query failed: ${message.split('\n')[0]}`);
    }
    return ctx.failure('run a check query', error);
  };

  return {
    async dailyCounts(table: 'events' | 'sessions', range: TimeRange): Promise<Array<{ day: string; count: number }>> {
      const days: Array<{ day: string; count: number }> = [];
      for await (const row of ctx.select(dailyCountsSql.clickhouse(t, table), rangeParams(range))) days.push({ day: row.day as string, count: Number(row.n) });
      return days;
    },

    async newestEventTime(before: number | undefined): Promise<number | null> {
      let newest: number | null = null;
      for await (const row of ctx.select(newestEventTimeSql.clickhouse(t), { to: rangeParams({ to: before }).to })) {
        if (Number(row.n) > 0) newest = Number(row.newest);
      }
      return newest;
    },

    async propertyProfile(range: TimeRange, event: string, property: string, accepted: readonly string[] | null, sampleSize: number): Promise<PropertyProfile> {
      const params = { ...rangeParams(range), event, property, accepted: accepted ?? [], check: accepted === null ? 0 : 1, sample: sampleSize };
      const sql = propertyProfileSql.clickhouse(t);
      const profile: PropertyProfile = { rows: 0, missing: 0, missingSample: [], unexpected: 0, unexpectedValues: [] };
      for await (const row of ctx.select(sql.summary, params)) {
        profile.rows = Number(row.rows);
        profile.missing = Number(row.missing);
        profile.missingSample = row.missing_sample as string[];
        profile.unexpected = Number(row.unexpected);
      }
      if (profile.unexpected > 0) {
        for await (const row of ctx.select(sql.unexpectedValues, params)) profile.unexpectedValues.push({ value: row.value as string, rows: Number(row.rows), example: row.example as string });
      }
      return profile;
    },

    async flagShare(range: TimeRange, flag: string | null, sampleSize: number): Promise<{ sessions: number; flagged: number; sample: string[] }> {
      const result = { sessions: 0, flagged: 0, sample: [] as string[] };
      for await (const row of ctx.select(flagShareSql.clickhouse(t, flag === null), { ...rangeParams(range), flag: flag ?? '', sample: sampleSize })) {
        result.sessions = Number(row.sessions);
        result.flagged = Number(row.flagged);
        result.sample = row.sample as string[];
      }
      return result;
    },

    async sessionPlacement(range: TimeRange, options: { eventMarginMs: number; sampleSize: number }): Promise<SessionPlacementDay[]> {
      const params = rangeParams(range);
      const margin = { mfrom: Math.max(0, params.from - options.eventMarginMs), mto: Math.min(MAX_TIME, params.to + options.eventMarginMs) };
      const days: SessionPlacementDay[] = [];
      for await (const row of ctx.select(sessionPlacementSql.clickhouse(t), { ...params, ...margin, sample: options.sampleSize })) {
        days.push({
          day: row.day as string,
          sessions: Number(row.sessions),
          declared: Number(row.declared),
          placed: Number(row.placed),
          mismatchedSessions: Number(row.mismatched),
          sample: row.sample as string[],
        });
      }
      return days;
    },

    async queryRows(sql: string, range: Required<TimeRange>, limit: number): Promise<{ rows: Array<Record<string, unknown>>; total: number }> {
      const bounded = rangeParams(range);
      const params = { from: toClickHouseTime(bounded.from), to: toClickHouseTime(bounded.to), from_ms: bounded.from, to_ms: bounded.to, db: ctx.database };
      // Checks only read: anything but a SELECT is refused before it reaches the engine (a readonly
      // setting would stick to chdb's one in-process session).
      if (!isReadOnlyQuery(sql)) throw new UsageError('the query must be a SELECT (or WITH … SELECT)');
      // The engine counts and cuts: a check matching millions of rows must not bring them all
      // here (chdb's connection holds a whole result in memory before the first row).
      const body = sql.trim().replace(/;\s*$/, '');
      const collect = async (query: string, extra: Record<string, unknown> = {}) => {
        const rows: Array<Record<string, unknown>> = [];
        try {
          const resultSet = await ctx.client.query({ query, query_params: { ...params, ...extra }, format: 'JSONEachRow', clickhouse_settings: READ_SETTINGS });
          for await (const batch of resultSet.stream<Row>()) for (const row of batch) rows.push(row.json());
        } catch (error) {
          throw queryFailure(error);
        }
        return rows;
      };
      const [counted] = await collect(`SELECT count() AS n FROM (${body})`);
      const rows = limit > 0 ? await collect(`SELECT * FROM (${body}) LIMIT {__sample_rows:UInt32}`, { __sample_rows: limit }) : [];
      return { rows, total: Number(counted?.n ?? 0) };
    },

    async storeCheckFailures(rows: readonly CheckFailureRow[]): Promise<void> {
      await ctx.insert(
        CHECK_FAILURES_TABLE,
        rows.map((r) => ({ run_id: r.runId, run_at: toClickHouseTime(r.runAt), check_name: r.check, check_type: r.checkType, status: r.status, row: r.row })),
      );
    },
  };
}
