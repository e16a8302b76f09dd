/**
 * Costs are real on BigQuery (on demand it bills the bytes a query scans). Every query carries
 * `maximumBytesBilled` (bigquery-connection.ts, from `--max-bytes-billed`), so BigQuery refuses a
 * query over it without billing; the check measures and the report also dry-run each query first
 * (free): the estimate is counted for `check` to print, and a query over the limit is refused
 * here already, with the limit and the estimate in one line. `reprocess --dry-run` asks for the
 * bytes a rebuild of each day would scan. bqemulator answers every dry run with 0 bytes and does
 * not enforce the limit (docs/decisions/0019-bigquery-analytics.md).
 */
import type { BigQuery, Query } from '@google-cloud/bigquery';
import { InfrastructureError } from '../../errors.js';
import { formatBytes, type QueryCosts } from '../ports/query-costs.js';

type Row = Record<string, unknown>;

/** What the cost guard needs of the store's context (named structurally: the connection imports this file). */
export interface CostedConnection {
  readonly client: BigQuery;
  readonly maxBytesBilled: number | null;
  table(name: string): string;
  queryOptions(query: string, params: Record<string, unknown>): Query;
  select(query: string, params: Record<string, unknown>, what?: string, extra?: Partial<Query>): AsyncIterable<Row>;
  failure(what: string, error: unknown): Error;
}

/** A query over the limit: what it was for, the estimate and the limit, and what to do. */
export function overLimit(what: string, estimate: number, limit: number): InfrastructureError {
  return new InfrastructureError(
    `BigQuery would bill ${formatBytes(estimate)} (${estimate} bytes) to ${what}, over the limit of ${formatBytes(limit)} (--max-bytes-billed ${limit}); nothing was run`,
    { hint: 'narrow the time range (--from/--to), or raise stores.analytics.max_bytes_billed (--max-bytes-billed) if the cost is intended', retriable: false },
  );
}

const EXCEEDED = /exceeded limit for bytes billed:\s*(\d+)\.\s*(\d+) or higher required/i;

/**
 * BigQuery's own refusal of a job over `maximumBytesBilled` (reason bytesBilledLimitExceeded,
 * "Query exceeded limit for bytes billed: 1000. 10485760 or higher required."), as overLimit;
 * null for any other error.
 */
export function limitExceeded(error: unknown, what: string): InfrastructureError | null {
  const reasons = ((error as { errors?: Array<{ reason?: string; message?: string }> }).errors ?? []).map((e) => `${e.reason ?? ''} ${e.message ?? ''}`);
  const text = [String((error as Error)?.message ?? error), ...reasons].join('\n');
  const match = EXCEEDED.exec(text);
  if (match) return overLimit(what, Number(match[2]), Number(match[1]));
  return /bytesBilledLimitExceeded/.test(text)
    ? new InfrastructureError(`BigQuery refused to ${what}: over --max-bytes-billed`, { hint: 'narrow the time range or raise --max-bytes-billed', retriable: false })
    : null;
}

/** The bytes BigQuery's dry run says a query would process (free; nothing runs). */
export async function dryRunBytes(ctx: CostedConnection, options: Query, what: string): Promise<number> {
  try {
    const [job] = await ctx.client.createQueryJob({ ...options, dryRun: true });
    return Number(job.metadata?.statistics?.totalBytesProcessed ?? job.metadata?.statistics?.query?.totalBytesProcessed ?? 0);
  } catch (error) {
    throw ctx.failure(what, error);
  }
}

export interface CostGuard {
  /** Rows of a query after its dry run: the estimate counted, a query over the limit refused before it runs. */
  select(query: string, params: Record<string, unknown>, what: string, extra?: Partial<Query>): AsyncIterable<Row>;
  rows(query: string, params: Record<string, unknown>, what: string, extra?: Partial<Query>): Promise<Row[]>;
  /** The dry run alone, counted: the bytes a query would process. */
  estimate(query: string, params: Record<string, unknown>, what: string, extra?: Partial<Query>): Promise<number>;
  readonly costs: QueryCosts;
}

/**
 * The dry runs and the limit around the check measures' and the report's queries, and the store's
 * QueryCosts port. `dayTables`: the tables whose day partition a rebuild reads (each derived table
 * and its staging twin), with the column their day is taken from.
 */
export function createCostGuard(ctx: CostedConnection, dayTables: ReadonlyArray<{ name: string; partitionColumn: string }>): CostGuard {
  const meter = { queries: 0, bytes: 0 };
  const estimate = async (query: string, params: Record<string, unknown>, what: string, extra: Partial<Query> = {}): Promise<number> => {
    const bytes = await dryRunBytes(ctx, { ...ctx.queryOptions(query, params), ...extra }, what);
    meter.queries += 1;
    meter.bytes += bytes;
    if (ctx.maxBytesBilled !== null && bytes > ctx.maxBytesBilled) throw overLimit(what, bytes, ctx.maxBytesBilled);
    return bytes;
  };
  async function* select(query: string, params: Record<string, unknown>, what: string, extra: Partial<Query> = {}): AsyncIterable<Row> {
    await estimate(query, params, what, extra);
    yield* ctx.select(query, params, what, extra);
  }
  return {
    select,
    async rows(query, params, what, extra) {
      const rows: Row[] = [];
      for await (const row of select(query, params, what, extra)) rows.push(row);
      return rows;
    },
    estimate,
    costs: {
      maxBytesBilled: ctx.maxBytesBilled,
      scanned: () => ({ ...meter }),
      async rebuildBytes(days) {
        const perDay: Array<{ day: string; bytes: number }> = [];
        for (const day of days) {
          // What a rebuild reads of stored data: the day's partition of each derived table (the swap
          // rewrites it) and of its staging twin; the rows it will stage come by free load jobs.
          // Dry runs are free: the day's tables are asked in parallel.
          const perTable = await Promise.all(
            dayTables.map(({ name, partitionColumn }) =>
              dryRunBytes(ctx, ctx.queryOptions(`SELECT * FROM ${ctx.table(name)} WHERE DATE(${partitionColumn}) = CAST(@day AS DATE)`, { day }), `estimate rebuilding ${name} ${day}`),
            ),
          );
          const bytes = perTable.reduce((sum, n) => sum + n, 0);
          perDay.push({ day, bytes });
        }
        return perDay;
      },
    },
  };
}
