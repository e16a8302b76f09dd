import { BigQuery } from '@google-cloud/bigquery';
import { UsageError } from '../../errors.js';
import type { CheckFailureRow, CheckMeasures, PropertyProfile, SessionPlacementDay } from '../ports/check-measures.js';
import type { TimeRange } from '../ports/event-log.js';
import { CHECK_FAILURES_TABLE } from '../clickhouse/schema.js';
import { dailyCountsSql, flagShareSql, newestEventTimeSql, propertyProfileSql, sessionPlacementSql } from '../sql/check-measures.js';
import { isReadOnlyQuery } from '../sql/read-only.js';
import { type BigQueryContext, MAX_TIME, rangeParams } from './bigquery-connection.js';
import type { CostGuard } from './bigquery-cost.js';

type Row = Record<string, unknown>;

/**
 * The measures check types read, on BigQuery: the shared measures' BigQuery renderings
 * (src/stores/sql/check-measures.ts), every value a named parameter, every query dry-run first so
 * `check` can say what it scanned and a query over --max-bytes-billed is refused (bigquery-cost.ts).
 */
export function bigQueryCheckMeasures(ctx: BigQueryContext, guard: CostGuard): CheckMeasures {
  const t = (name: string) => ctx.table(name);

  /** BigQuery answered with an error about the query itself (bad SQL in a check): the check is wrong, not the store. */
  const queryFailure = (error: unknown): Error => {
    const cause = (error as { cause?: unknown }).cause ?? error;
    const reasons = ((cause as { errors?: Array<{ reason?: string }> }).errors ?? []).map((e) => e.reason);
    const message = ((cause as Error).message ?? String(cause)).split('\n')[0]!;
    if (reasons.some((reason) => reason === 'invalidQuery' || reason === 'notFound' || reason === 'invalid') || /Syntax error|Unrecognized name|not found/i.test(message)) {
      return new UsageError(`the query failed: ${message}`);
    }
    return error as Error;
  };

  return {
    async dailyCounts(table: 'events' | 'sessions', range: TimeRange): Promise<Array<{ day: string; count: number }>> {
      const rows = await guard.rows(dailyCountsSql.bigquery(t, table), rangeParams(range), `count ${table} per day`);
      return rows.map((row) => ({ day: row.day as string, count: Number(row.n) }));
    },

    async newestEventTime(before: number | undefined): Promise<number | null> {
      const [row] = await guard.rows(newestEventTimeSql.bigquery(t), { to: rangeParams({ to: before }).to }, 'find the newest event');
      return row && Number(row.n) > 0 ? Number(row.newest) : null;
    },

    async propertyProfile(range: TimeRange, event: string, property: string, accepted: readonly string[] | null, sampleSize: number): Promise<PropertyProfile> {
      // The property is one key, bound as a JSONPath value: `$."key"` reads a key with dots or quotes as it is.
      if (property.includes('"')) throw new UsageError(`property ${JSON.stringify(property)}: BigQuery's JSONPath cannot name a key holding a double quote`);
      const params = { ...rangeParams(range), event, path: `$."${property}"`, accepted: [...(accepted ?? [])], check: accepted === null ? 0 : 1, sample: sampleSize };
      const sql = propertyProfileSql.bigquery(t);
      const profile: PropertyProfile = { rows: 0, missing: 0, missingSample: [], unexpected: 0, unexpectedValues: [] };
      const [summary] = await guard.rows(sql.summary, params, `profile ${event}.${property}`);
      if (summary) {
        profile.rows = Number(summary.rows);
        profile.missing = Number(summary.missing);
        profile.missingSample = (summary.missing_sample as string[] | null) ?? [];
        profile.unexpected = Number(summary.unexpected);
      }
      if (profile.unexpected > 0) {
        for (const row of await guard.rows(sql.unexpectedValues, params, `list unexpected values of ${event}.${property}`)) {
          profile.unexpectedValues.push({ value: row.value as string, rows: Number(row.rows), example: row.example as string });
        }
      }
      return profile;
    },

    async flagShare(range: TimeRange, flag: string | null, sampleSize: number): Promise<{ sessions: number; flagged: number; sample: string[] }> {
      const [row] = await guard.rows(flagShareSql.bigquery(t, flag === null), { ...rangeParams(range), ...(flag === null ? {} : { flag }), sample: sampleSize }, 'count flagged sessions');
      return { sessions: Number(row?.sessions ?? 0), flagged: Number(row?.flagged ?? 0), sample: (row?.sample as string[] | null) ?? [] };
    },

    async sessionPlacement(range: TimeRange, options: { eventMarginMs: number; sampleSize: number }): Promise<SessionPlacementDay[]> {
      const params = rangeParams(range);
      const margin = { mfrom: Math.max(0, params.from - options.eventMarginMs), mto: Math.min(MAX_TIME, params.to + options.eventMarginMs) };
      const rows = await guard.rows(sessionPlacementSql.bigquery(t), { ...params, ...margin, sample: options.sampleSize }, 'compare sessions with their events');
      return rows.map((row) => ({
        day: row.day as string,
        sessions: Number(row.sessions),
        declared: Number(row.declared),
        placed: Number(row.placed),
        mismatchedSessions: Number(row.mismatched),
        sample: (row.sample as string[] | null) ?? [],
      }));
    },

    /**
     * A custom query in GoogleSQL: tables unqualified resolve to the analytics dataset (the job's
     * default dataset; identifiers cannot be bound), `@from`/`@to` are TIMESTAMPs and
     * `@from_ms`/`@to_ms` INT64 epoch ms. Wrapped in a subquery, a script or a second statement
     * cannot run.
     */
    async queryRows(sql: string, range: Required<TimeRange>, limit: number): Promise<{ rows: Array<Record<string, unknown>>; total: number }> {
      if (!isReadOnlyQuery(sql)) throw new UsageError('the query must be a SELECT (or WITH … SELECT)');
      const bounded = rangeParams(range);
      const params = { from: BigQuery.timestamp(new Date(bounded.from)), to: BigQuery.timestamp(new Date(bounded.to)), from_ms: bounded.from, to_ms: bounded.to };
      const body = sql.trim().replace(/;\s*$/, '');
      const extra = { defaultDataset: { projectId: ctx.project, datasetId: ctx.dataset } };
      const run = async (query: string, more: Record<string, unknown> = {}) => {
        try {
          return await guard.rows(query, { ...params, ...more }, 'run the sql check', extra);
        } catch (error) {
          throw queryFailure(error);
        }
      };
      // BigQuery counts and cuts: a check matching millions of rows must not bring them all here.
      const [counted] = await run(`SELECT COUNT(*) AS n FROM (${body})`);
      const rows = limit > 0 ? await run(`SELECT * FROM (${body}) LIMIT @__sample_rows`, { __sample_rows: limit }) : [];
      return { rows: rows.map(plainRow), total: Number(counted?.n ?? 0) };
    },

    async storeCheckFailures(rows: readonly CheckFailureRow[]): Promise<void> {
      await ctx.load(
        CHECK_FAILURES_TABLE,
        rows.map((r) => ({ run_id: r.runId, run_at: new Date(r.runAt).toISOString(), check_name: r.check, check_type: r.checkType, status: r.status, row: r.row })),
      );
    },
  };
}

/** A result row with BigQuery's value wrappers (TIMESTAMP, DATE, NUMERIC, …) as their text. */
function plainRow(row: Row): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = value !== null && typeof value === 'object' && !Array.isArray(value) && 'value' in value ? (value as { value: unknown }).value : value;
  }
  return out;
}
