import type { ClickHouseClient } from '@clickhouse/client';
import { InfrastructureError } from '../../errors.js';
import type { TimeRange } from '../ports/event-log.js';
import { damageError, dayOfPartition, type StoreDamage } from '../store-damage.js';
import type { Row } from './clickhouse-mappers.js';
import { quoteIdentifier, READ_SETTINGS, type TableSpec, timeColumns } from './schema.js';
import { tsvField, tsvStringArray, withSpooledTsv } from './spool.js';

export const MAX_TIME = 253402300799999; // 9999-12-31T23:59:59.999Z, the top of DateTime64's range

/**
 * What every part of the ClickHouse analytics store shares: one @clickhouse/client (chdb's
 * in-process connection or HTTP to a server, so the embedded default and production run one
 * code path), the database, and how failures are reported.
 */
export interface ClickHouseContext {
  readonly client: ClickHouseClient;
  /** The database, quoted for SQL. */
  readonly db: string;
  /** The database name as a value (bound as `{db:String}`). */
  readonly database: string;
  readonly engine: string;
  /** Rows per page of a streamed range (see streamTable). */
  readonly streamPageRows: number;
  /** Streams rows; parameters are bound server-side, never spliced into SQL. */
  select(query: string, params: Record<string, unknown>): AsyncIterable<Row>;
  run(query: string, what: string): Promise<void>;
  insert(table: string, values: unknown[], how?: InsertFormat): Promise<void>;
  /**
   * Derived rows (insertRow's arrays). When this process owns the engine (spoolDir set) they are
   * spooled as TSV and ClickHouse reads the file itself (docs/decisions/0022); otherwise they
   * travel as JSONCompactEachRow (arrays, columns named once in the statement): fewer bytes and
   * cheaper to encode and parse than JSONEachRow (docs/decisions/0009).
   */
  insertCompact(spec: TableSpec, table: string, values: unknown[][]): Promise<void>;
  /** Whether insertTsv can be used: this process owns the engine and spools (docs/decisions/0022). */
  readonly spools: boolean;
  /** TSV lines (each tsvLine of insertRow's array, version and is_deleted included, `\n`-terminated), spooled as one INSERT. */
  insertTsv(spec: TableSpec, table: string, body: string): Promise<void>;
  failure(what: string, error: unknown): InfrastructureError;
}

type InsertFormat = { format: 'JSONEachRow' } | { format: 'JSONCompactEachRow'; columns: [string, ...string[]] };

/** Rows per INSERT of insert(), insertCompact() and the encoded writes. */
export const INSERT_ROWS = 50_000;

export function createClickHouseContext(
  client: ClickHouseClient,
  database: string,
  engine: string,
  streamPageRows = 50_000,
  /** A directory the engine in this process reads with file() (chdb owned here); null: rows go in the request. */
  spoolDir: string | null = null,
): ClickHouseContext {
  const db = quoteIdentifier(database);
  const failure = (what: string, error: unknown): InfrastructureError => {
    const message = (error as Error).message ?? String(error);
    const damaged = damageInMessage(message);
    if (damaged) return damageError([damaged]);
    return new InfrastructureError(`analytics store (${engine}): cannot ${what}: ${message.split('\n')[0]}`, {
      hint: engine === 'chdb' ? undefined : 'check that ClickHouse is reachable (journeyctl doctor)',
      cause: error,
    });
  };
  const insert = async (table: string, values: unknown[], how: InsertFormat = { format: 'JSONEachRow' }): Promise<void> => {
    try {
      for (let start = 0; start < values.length; start += INSERT_ROWS) {
        await client.insert({ table: `${db}.${table}`, values: values.slice(start, start + INSERT_ROWS), ...how });
      }
    } catch (error) {
      throw failure(`insert into ${table}`, error);
    }
  };
  const insertSpooled = async (spec: TableSpec, table: string, body: string): Promise<void> => {
    if (spoolDir === null) throw new Error('insertTsv needs a spool directory (the engine owned by this process)');
    const spooled = spooledRows(spec);
    try {
      await withSpooledTsv(spoolDir, 'derived', body, spooled.structure, (file) => client.command({ query: `INSERT INTO ${db}.${table} (${spooled.columns}) SELECT ${spooled.select} FROM ${file}` }));
    } catch (error) {
      throw failure(`insert into ${table}`, error);
    }
  };
  return {
    client,
    db,
    database: db.slice(1, -1),
    engine,
    streamPageRows,
    async *select(query, params) {
      let resultSet;
      try {
        resultSet = await client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: READ_SETTINGS });
      } catch (error) {
        throw failure('query', error);
      }
      for await (const rows of resultSet.stream<Row>()) {
        for (const row of rows) yield withTimeNames(row.json());
      }
    },
    async run(query, what) {
      try {
        await client.command({ query });
      } catch (error) {
        throw failure(what, error);
      }
    },
    insert,
    async insertCompact(spec, table, values) {
      const columns: [string, ...string[]] = ['version', 'is_deleted'];
      columns.unshift(...spec.columns.map(([name]) => name));
      if (spoolDir === null) return insert(table, values, { format: 'JSONCompactEachRow', columns });
      const spooled = spooledRows(spec);
      for (let start = 0; start < values.length; start += INSERT_ROWS) await insertSpooled(spec, table, spooled.tsv(values, start, Math.min(values.length, start + INSERT_ROWS)));
    },
    spools: spoolDir !== null,
    async insertTsv(spec, table, body) {
      await insertSpooled(spec, table, body);
    },
    failure,
  };
}

interface SpooledRows {
  /** The table's columns the INSERT names: the spec's, then version and is_deleted. */
  columns: string;
  /** The file's columns: the spec's, times as epoch ms (Int64), then version and is_deleted. */
  structure: string;
  /** The SELECT list turning them into the table's. */
  select: string;
  /** Rows [from, to) of insertRow's arrays as TSV, one line each. */
  tsv(rows: readonly unknown[][], from: number, to: number): string;
}

const spooledRowsOf = new Map<TableSpec, SpooledRows>();

/** How insertRow's arrays of one table are spooled (derived per spec once). */
function spooledRows(spec: TableSpec): SpooledRows {
  let spooled = spooledRowsOf.get(spec);
  if (spooled) return spooled;
  const times = timeColumns(spec);
  const columns: Array<readonly [string, string]> = [...spec.columns, ['version', 'UInt64'], ['is_deleted', 'UInt8']];
  spooled = {
    columns: columns.map(([name]) => name).join(', '),
    structure: columns.map(([name, type]) => `${name} ${times.has(name) ? 'Int64' : type}`).join(', '),
    select: columns.map(([name]) => (times.has(name) ? `fromUnixTimestamp64Milli(${name}, 'UTC') AS ${name}` : name)).join(', '),
    tsv(rows, from, to) {
      // Fields and lines joined, not one string grown with += (cheaper here, as for the raw
      // store's TSV: docs/decisions/0021).
      const lines: string[] = new Array<string>(to - from + 1);
      for (let r = from; r < to; r += 1) lines[r - from] = tsvLine(spec, rows[r]!, columns.length);
      lines[to - from] = '';
      return lines.join('\n');
    },
  };
  spooledRowsOf.set(spec, spooled);
  return spooled;
}

const arrayColumnsOf = new Map<TableSpec, boolean[]>();

/**
 * The first `width` values of insertRow's array as one TSV line (no newline): the spec's columns
 * (`spec.columns.length`), or with version and is_deleted (two more). Rows are also compared by
 * this form (clickhouse-derived-writes.ts): it is a function of the column values alone.
 */
export function tsvLine(spec: TableSpec, row: readonly unknown[], width: number): string {
  let isArray = arrayColumnsOf.get(spec);
  if (!isArray) arrayColumnsOf.set(spec, (isArray = spec.columns.map(([, type]) => type.startsWith('Array('))));
  const fields: string[] = new Array<string>(width);
  for (let c = 0; c < width; c += 1) {
    fields[c] = isArray[c] === true ? tsvStringArray((row[c] as string[] | undefined) ?? []) : tsvField(row[c] as string | number | null | undefined);
  }
  return fields.join('\t');
}

const MS_SUFFIX = '__ms';

/**
 * The spec's columns in order, times as epoch ms. The ms value gets its own alias: in
 * ClickHouse an alias shadows the column in WHERE, which would defeat partition pruning.
 */
export function selectList(spec: TableSpec): string {
  const times = timeColumns(spec);
  return spec.columns.map(([name]) => (times.has(name) ? `toUnixTimestamp64Milli(${name}) AS ${name}${MS_SUFFIX}` : name)).join(', ');
}

function withTimeNames(row: Row): Row {
  for (const key of Object.keys(row)) {
    if (key.endsWith(MS_SUFFIX)) {
      row[key.slice(0, -MS_SUFFIX.length)] = row[key];
      delete row[key];
    }
  }
  return row;
}

/**
 * A row as the values of the spec's columns in order, then version and is_deleted (see
 * insertCompact). Times go as integer epoch milliseconds, which ClickHouse reads as DateTime64(3)
 * ticks (documented for the type; formatting them as text was 4% of a derive).
 */
export function insertRow(spec: TableSpec, row: Row, version: number, isDeleted: 0 | 1): unknown[] {
  const columns = rowColumnsOf(spec);
  const out: unknown[] = new Array(columns.length + 2);
  for (let i = 0; i < columns.length; i += 1) {
    const [name, isTime] = columns[i]!;
    out[i] = isTime ? Math.trunc(Number(row[name])) : row[name];
  }
  out[columns.length] = version;
  out[columns.length + 1] = isDeleted;
  return out;
}

const rowColumns = new Map<TableSpec, ReadonlyArray<readonly [name: string, isTime: boolean]>>();

/** The spec's columns and which are times, worked out once per spec (insertRow runs once per derived row). */
function rowColumnsOf(spec: TableSpec): ReadonlyArray<readonly [name: string, isTime: boolean]> {
  let columns = rowColumns.get(spec);
  if (!columns) {
    const times = timeColumns(spec);
    columns = spec.columns.map(([name]) => [name, times.has(name)] as const);
    rowColumns.set(spec, columns);
  }
  return columns;
}

export function rangeParams(range: TimeRange): { from: number; to: number } {
  return { from: range.from ?? 0, to: Math.min(range.to ?? MAX_TIME, MAX_TIME) };
}

/** ClickHouse parses this text form of DateTime64(3) in any server configuration. */
export function toClickHouseTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

/** Day partitions are toDate(...): their id is YYYYMMDD. Checked, because partition ids cannot be bound. */
export function partitionId(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) throw new Error(`invalid day ${JSON.stringify(day)}`);
  return day.replaceAll('-', '');
}

export function firstLine(error: unknown): string {
  return ((error as Error).message ?? String(error)).split('\n')[0]!;
}

/**
 * A read that hit a damaged part (checksum mismatch, unreadable or undecompressable data) names
 * the part and table in its message: the damage, not a passing outage.
 */
const DAMAGE_MESSAGE = /Checksum doesn't match|CHECKSUM_DOESNT_MATCH|CORRUPTED_DATA|CANNOT_DECOMPRESS|Cannot read all data|CANNOT_READ_ALL_DATA|UNKNOWN_CODEC|ATTEMPT_TO_READ_AFTER_EOF/i;

function damageInMessage(message: string): StoreDamage | null {
  if (!DAMAGE_MESSAGE.test(message)) return null;
  const table = /in table [`"]?[A-Za-z0-9_]+[`"]?\.[`"]?([A-Za-z0-9_]+)/.exec(message)?.[1];
  const part = /(?:reading part|data part|from part [^ ]*\/)\s*([0-9A-Za-z]+_\d+_\d+_\d+)/.exec(message)?.[1];
  const day = dayOfPartition(part?.split('_')[0]);
  return {
    store: 'analytics store',
    kind: 'checksum mismatch',
    ...(table ? { table } : {}),
    ...(day ? { day } : {}),
    ...(part ? { part } : {}),
    detail: `${part ? `part ${part} ` : 'a part '}cannot be read: ${message.split('\n')[0]!.slice(0, 120)}`,
  };
}
