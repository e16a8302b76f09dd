import { Readable } from 'node:stream';
import type { IdentityLink } from '../../../domain/precedence.js';
import type { RawStore } from '../../raw-store.js';
import { type ClickHouseContext, MAX_TIME, toClickHouseTime } from '../clickhouse-connection.js';
import type { Row } from '../clickhouse-mappers.js';
import { READ_SETTINGS } from '../schema.js';
import { tsvField, withSpooledTsv } from '../spool.js';
import { type BatchColumn, batchStructure, storedList } from './raw-schema.js';

/**
 * The base a ClickHouse event log writes beside (SQLite for the embedded engine, MongoDB for a
 * server): identity links and dirty marks stay there, committed as one unit before the events
 * they cover are inserted (docs/decisions/0021-raw-events-in-clickhouse.md).
 */
export interface ArrivalRecorder {
  /** Stores each link unless the stored one wins (isEarlierLink) and marks the ids dirty, as one unit. */
  recordArrivals(links: ReadonlyMap<string, IdentityLink>, dirty: ReadonlySet<string>): Promise<void>;
}

export type RawBase = RawStore & ArrivalRecorder;

/** What the raw store's ClickHouse parts share. */
export interface ClickHouseRawContext {
  readonly ch: ClickHouseContext;
  /**
   * A directory this process's ClickHouse engine reads with `file()` (chdb in this process: the
   * data directory): batches are spooled there as TSV and ClickHouse inserts them itself. null:
   * the same TSV goes in the request body (`input()`), for a server or an engine served over HTTP.
   */
  readonly spoolDir: string | null;
  /** Ids bound into one mutation at most (a server takes query parameters in the URL; forIdSets counts bytes instead). */
  readonly idsPerQuery: number;
}

export function createClickHouseRawContext(ch: ClickHouseContext, options: { spoolDir: string | null; idsPerQuery?: number }): ClickHouseRawContext {
  return { ch, spoolDir: options.spoolDir, idsPerQuery: options.idsPerQuery ?? 2_000 };
}

export async function selectAll(ctx: ClickHouseRawContext, query: string, params: Record<string, unknown> = {}): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const row of ctx.ch.select(query, params)) rows.push(row);
  return rows;
}

/**
 * Rows as arrays in SELECT order (JSONCompactEachRow): for reads of many rows, where an object per
 * row and its key names cost more than the query (the derivation's read-back).
 */
export async function selectArrays(ctx: ClickHouseRawContext, query: string, params: Record<string, unknown>): Promise<unknown[][]> {
  try {
    const result = await ctx.ch.client.query({ query, query_params: params, format: 'JSONCompactEachRow', clickhouse_settings: READ_SETTINGS });
    return await result.json<unknown[]>();
  } catch (error) {
    throw ctx.ch.failure('query', error);
  }
}

/** A set of strings a query reads: `ids` is a subquery of them, `keys` of their sipHash64 (the message key). */
export interface IdSet {
  ids: string;
  keys: string;
  params: Record<string, unknown>;
}

/**
 * Runs `each` over `values` as id sets. Embedded (spoolDir set), the values are spooled to one
 * file that ClickHouse reads (binding 20k ids as a query parameter cost ~150 ms of parsing, the
 * file ~5 ms); otherwise they are bound as an Array(String) parameter, as many per query as fit
 * in PARAM_URL_BYTES: each query reads the message keys of every stored row, so a batch's dedup
 * look-up is one query where its ids allow (docs/decisions/0020).
 */
export async function forIdSets(ctx: ClickHouseRawContext, values: readonly string[], each: (set: IdSet) => Promise<void>): Promise<void> {
  if (values.length === 0) return;
  if (ctx.spoolDir !== null) {
    await withSpooledTsv(ctx.spoolDir, 'raw-ids', `${values.map(tsvField).join('\n')}\n`, 'id String', (file) =>
      each({ ids: `(SELECT id FROM ${file})`, keys: `(SELECT sipHash64(id) FROM ${file})`, params: {} }),
    );
    return;
  }
  let start = 0;
  while (start < values.length) {
    // Parameters travel in the URL: at most PARAM_URL_BYTES of them, encoded.
    let end = start;
    for (let bytes = 0; end < values.length; end += 1) {
      bytes += urlBytes(values[end]!) + 9;
      if (bytes > PARAM_URL_BYTES && end > start) break;
    }
    await each({ ids: '(SELECT arrayJoin({ids:Array(String)}))', keys: '(SELECT sipHash64(arrayJoin({ids:Array(String)})))', params: { ids: values.slice(start, end) } });
    start = end;
  }
}

/** Encoded id bytes per query URL: a ClickHouse server takes URLs up to 1 MiB (http_max_uri_size). */
const PARAM_URL_BYTES = 512 * 1024;

/** A value's length in a URL, percent-encoded (at most 3 bytes per UTF-8 byte). */
function urlBytes(value: string): number {
  try {
    return encodeURIComponent(value).length;
  } catch {
    return Buffer.byteLength(value) * 3; // a lone surrogate, which encodeURIComponent refuses
  }
}

/** Settings of every raw insert: a batch may span many received days (a backfill), each its own partition. */
const INSERT_SETTINGS = { max_partitions_per_insert_block: '0' };

/**
 * Inserts TSV rows of `columns` into `table` as one INSERT (a batch is far below
 * max_insert_block_size, so it becomes one part per partition it touches, each written whole or
 * not at all). `tsv(time)` writes the rows, formatting times with `time`. Embedded: the rows are
 * spooled to a file that ClickHouse reads itself (`INSERT … SELECT … FROM file()`, times as epoch
 * ms); otherwise they are the request body of `INSERT … FORMAT TabSeparated` (times as text).
 */
export async function insertTsv(ctx: ClickHouseRawContext, table: string, columns: readonly BatchColumn[], tsv: (time: (epochMs: number) => string) => string): Promise<void> {
  const names = columns.map((c) => c.name);
  try {
    if (ctx.spoolDir !== null) {
      const body = tsv(String);
      if (body === '') return;
      await withSpooledTsv(ctx.spoolDir, 'raw-spool', body, batchStructure(columns), (file) =>
        ctx.ch.client.command({ query: `INSERT INTO ${ctx.ch.db}.${table} (${names.join(', ')}) SELECT ${storedList(columns)} FROM ${file}`, clickhouse_settings: INSERT_SETTINGS }),
      );
    } else {
      const body = tsv(toClickHouseTime);
      if (body === '') return;
      await ctx.ch.client.insert({
        table: `${ctx.ch.db}.${table}`,
        columns: names as [string, ...string[]],
        values: Readable.from([Buffer.from(body)], { objectMode: false }),
        format: 'TabSeparated',
        clickhouse_settings: INSERT_SETTINGS,
      });
    }
  } catch (error) {
    throw ctx.ch.failure(`insert into ${table}`, error);
  }
}

/** A range bound for DateTime64 comparisons: open ends become the type's limits. */
export function rangeBounds(range: { from?: number | undefined; to?: number | undefined }): { from: number; to: number } {
  return { from: Math.max(0, range.from ?? 0), to: Math.min(range.to ?? MAX_TIME, MAX_TIME) };
}
