/**
 * The analytics schema in BigQuery: the same tables and columns as ClickHouse (their column list
 * is written once, clickhouse/schema.ts), each partitioned by the UTC day of its time column and
 * clustered by user and time. BigQuery has no ReplacingMergeTree: a table holds exactly the
 * current rows, changed by MERGE statements (see bigquery-derived-writes.ts), so reads need no
 * FINAL and no version columns.
 */
import type { TableField, TableMetadata } from '@google-cloud/bigquery';
import type { AnalyticsDamage } from '../ports/analytics-admin.js';
import { DERIVED_TABLES } from '../ports/derived-writes.js';
import { CHECK_FAILURES_TABLE, TABLES, type TableSpec, timeColumns } from '../clickhouse/schema.js';
import type { Row } from '../clickhouse/clickhouse-mappers.js';
import type { BigQueryContext } from './bigquery-connection.js';

/** A derived table's layout in BigQuery. */
export interface BigQueryTableSpec {
  readonly name: TableSpec['name'];
  readonly fields: TableField[];
  /** The TIMESTAMP column whose UTC day is the partition. */
  readonly partitionColumn: string;
  /** What identifies a row (the ClickHouse sorting key): MERGE matches on it. */
  readonly key: readonly string[];
  readonly times: ReadonlySet<string>;
  /** Column names in order. */
  readonly columns: readonly string[];
}

function fieldOf(name: string, clickHouseType: string): TableField {
  if (clickHouseType.startsWith('DateTime64')) return { name, type: 'TIMESTAMP', mode: 'REQUIRED' };
  if (clickHouseType.startsWith('Array(')) return { name, type: 'STRING', mode: 'REPEATED' };
  if (/^U?Int\d+$/.test(clickHouseType)) return { name, type: 'INTEGER', mode: 'REQUIRED' };
  return { name, type: 'STRING', mode: 'REQUIRED' };
}

function bigQuerySpec(spec: TableSpec): BigQueryTableSpec {
  return {
    name: spec.name,
    fields: spec.columns.map(([name, type]) => fieldOf(name, type)),
    partitionColumn: /toDate\((\w+)\)/.exec(spec.partitionBy)![1]!,
    key: spec.orderBy,
    times: timeColumns(spec),
    columns: spec.columns.map(([name]) => name),
  };
}

export const BQ_TABLES: Record<TableSpec['name'], BigQueryTableSpec> = {
  sessions: bigQuerySpec(TABLES.sessions),
  events: bigQuerySpec(TABLES.events),
  findings: bigQuerySpec(TABLES.findings),
  funnel_outcomes: bigQuerySpec(TABLES.funnel_outcomes),
};

/** Where a day partition is built before a MERGE swaps it in (reprocess). */
export const stagingName = (spec: BigQueryTableSpec): string => `${spec.name}__staging`;

const layout = (partitionColumn: string, clustering: string[]): Pick<TableMetadata, 'timePartitioning' | 'clustering'> => ({
  timePartitioning: { type: 'DAY', field: partitionColumn },
  clustering: { fields: clustering },
});

const req = (name: string, type: string): TableField => ({ name, type, mode: 'REQUIRED' });

/** Every table migrate creates, with its schema, partitioning and clustering. */
export function tableDefinitions(): Array<{ name: string; metadata: TableMetadata }> {
  const derived = Object.values(BQ_TABLES).flatMap((spec) => {
    const metadata: TableMetadata = { schema: { fields: spec.fields }, ...layout(spec.partitionColumn, ['user_id', spec.partitionColumn]) };
    return [
      { name: spec.name, metadata },
      { name: stagingName(spec), metadata },
    ];
  });
  return [
    ...derived,
    // Failing rows kept by `journeyctl check --store-failures`: append-only.
    {
      name: CHECK_FAILURES_TABLE,
      metadata: {
        schema: { fields: [req('run_id', 'STRING'), req('run_at', 'TIMESTAMP'), req('check_name', 'STRING'), req('check_type', 'STRING'), req('status', 'STRING'), req('row', 'STRING')] },
        ...layout('run_at', ['check_name', 'run_at']),
      },
    },
    // The dashboards' copy of the raw store's pipeline facts (clickhouse/mirror-schema.ts), replaced whole when published.
    {
      name: 'pipeline_minutes',
      metadata: {
        schema: {
          fields: [
            req('minute', 'TIMESTAMP'),
            req('app_version', 'STRING'),
            req('outcome', 'STRING'),
            req('reason', 'STRING'),
            req('lines', 'INTEGER'),
            req('late', 'INTEGER'),
            req('extra_copies', 'INTEGER'),
          ],
        },
      },
    },
    {
      name: 'release_bursts',
      metadata: {
        schema: {
          fields: [
            req('app_version', 'STRING'),
            req('window_start', 'TIMESTAMP'),
            req('window_end', 'TIMESTAMP'),
            req('accepted', 'INTEGER'),
            req('rejected', 'INTEGER'),
            req('share', 'FLOAT'),
            req('baseline', 'FLOAT'),
            { name: 'top_reasons', type: 'STRING', mode: 'REPEATED' },
          ],
        },
      },
    },
    {
      name: 'corrections',
      metadata: {
        schema: {
          fields: [
            req('id', 'STRING'),
            req('created_at', 'TIMESTAMP'),
            req('kind', 'STRING'),
            req('actor', 'STRING'),
            req('reason', 'STRING'),
            req('ticket', 'STRING'),
            req('code', 'STRING'),
            req('reverted', 'INTEGER'),
          ],
        },
      },
    },
  ];
}

export const EXPECTED_TABLES: readonly string[] = tableDefinitions().map((table) => table.name);

/** Creates the dataset (in its location) and every missing table. Idempotent; a table created meanwhile by another process is fine. */
export async function migrateBigQuery(ctx: BigQueryContext): Promise<void> {
  const dataset = ctx.client.dataset(ctx.dataset, { location: ctx.location });
  try {
    const [exists] = await dataset.exists();
    if (!exists) await dataset.create({ location: ctx.location }).catch(ignoreAlreadyExists);
    const existing = new Set(await existingTables(ctx));
    for (const { name, metadata } of tableDefinitions()) {
      if (!existing.has(name)) await dataset.createTable(name, metadata).catch(ignoreAlreadyExists);
    }
  } catch (error) {
    throw ctx.failure(`create the analytics dataset ${ctx.dataset} and its tables`, error);
  }
}

function ignoreAlreadyExists(error: unknown): void {
  if ((error as { code?: number }).code !== 409) throw error;
}

async function existingTables(ctx: BigQueryContext): Promise<string[]> {
  const [tables] = await ctx.client.dataset(ctx.dataset).getTables({ autoPaginate: true });
  return tables.map((table) => table.id!).sort();
}

/** A row as BigQuery's NDJSON load takes it: times as ISO-8601 text (UTC). */
export function loadRow(spec: BigQueryTableSpec, row: Row): Row {
  const out: Row = {};
  for (const column of spec.columns) out[column] = spec.times.has(column) ? new Date(Number(row[column])).toISOString() : row[column];
  return out;
}

/** The spec's columns in order, times read as epoch ms (under their own names). */
export function selectList(spec: BigQueryTableSpec, alias = ''): string {
  const prefix = alias ? `${alias}.` : '';
  return spec.columns.map((column) => (spec.times.has(column) ? `UNIX_MILLIS(${prefix}${column}) AS ${column}` : `${prefix}${column}`)).join(', ');
}

/**
 * What a managed service answers of the damage questions (doctor, repair): tables can go missing
 * (someone deleted one), but there are no parts or files of ours to be broken.
 */
export function bigQueryDamage(ctx: BigQueryContext): AnalyticsDamage {
  return {
    async existingTables() {
      try {
        const [exists] = await ctx.client.dataset(ctx.dataset).exists();
        return exists ? await existingTables(ctx) : [];
      } catch (error) {
        throw ctx.failure(`list the tables of dataset ${ctx.dataset}`, error);
      }
    },
    async eventCount() {
      const [row] = await ctx.rows(`SELECT COUNT(*) AS n FROM ${ctx.table('events')}`, {}, 'count the events');
      return Number(row?.n ?? 0);
    },
    expectedTables: () => [...EXPECTED_TABLES],
    brokenParts: async () => [],
    checkParts: async () => [],
    dropBrokenParts: async () => 0,
    async dropDays(days) {
      if (days.length === 0) return;
      for (const table of DERIVED_TABLES) {
        const spec = BQ_TABLES[table];
        await ctx.dml(
          `DELETE FROM ${ctx.table(spec.name)} WHERE DATE(${spec.partitionColumn}) IN UNNEST(ARRAY(SELECT CAST(day AS DATE) FROM UNNEST(@days) AS day))`,
          { days: [...days] },
          `drop days of ${table}`,
        );
      }
    },
    async truncateDerived() {
      for (const table of DERIVED_TABLES) {
        for (const name of [table, stagingName(BQ_TABLES[table])]) await ctx.dml(`TRUNCATE TABLE ${ctx.table(name)}`, {}, `empty ${name}`);
      }
    },
  };
}
