/**
 * The analytics schema, one SQL source for chdb and ClickHouse servers.
 *
 * ReplacingMergeTree(version, is_deleted): a re-derived row replaces the old one with the same
 * sorting key, and a vanished row is removed by a tombstone (is_deleted = 1) carrying a higher
 * version. Readers use FINAL, so the answer never depends on whether a merge has run yet.
 * Every sorting key contains the partitioning time, so rows with one key always land in one
 * partition and `do_not_merge_across_partitions_select_final` keeps FINAL cheap.
 */

import { mirrorSchemaStatements } from './mirror-schema.js';

export type ColumnKind = 'time' | 'value';

export interface TableSpec {
  name: 'sessions' | 'events' | 'findings' | 'funnel_outcomes';
  /** Column name → ClickHouse type. Times are DateTime64(3, 'UTC') and travel as epoch ms. */
  columns: ReadonlyArray<readonly [name: string, type: string]>;
  partitionBy: string;
  orderBy: readonly string[];
}

const TIME = "DateTime64(3, 'UTC')";

export const TABLES: Record<TableSpec['name'], TableSpec> = {
  sessions: {
    name: 'sessions',
    columns: [
      ['user_id', 'String'],
      ['started_at', TIME],
      ['session_id', 'String'],
      ['ended_at', TIME],
      ['anonymous_ids', 'Array(String)'],
      ['event_count', 'UInt32'],
      ['first_event', 'LowCardinality(String)'],
      ['last_event', 'LowCardinality(String)'],
      ['first_message_id', 'String'],
      ['app_versions', 'Array(LowCardinality(String))'],
      ['flags', 'Array(LowCardinality(String))'],
      ['labels', 'Array(LowCardinality(String))'],
      // Added after the first release (see ADDED_COLUMNS): last, as ALTER … ADD COLUMN puts it.
      ['session_mode', 'LowCardinality(String)'],
    ],
    partitionBy: 'toDate(started_at)',
    orderBy: ['user_id', 'started_at', 'session_id'],
  },
  events: {
    name: 'events',
    columns: [
      ['user_id', 'String'],
      ['event_time', TIME],
      ['message_id', 'String'],
      ['session_id', 'String'],
      ['anonymous_id', 'String'],
      ['type', 'LowCardinality(String)'],
      ['event', 'LowCardinality(String)'],
      ['app_version', 'LowCardinality(String)'],
      ['time_source', 'LowCardinality(String)'],
      ['skew_ms', 'Int64'],
      ['properties', 'String'],
    ],
    partitionBy: 'toDate(event_time)',
    orderBy: ['user_id', 'event_time', 'message_id'],
  },
  findings: {
    name: 'findings',
    columns: [
      ['user_id', 'String'],
      ['started_at', TIME],
      ['session_id', 'String'],
      ['kind', 'LowCardinality(String)'],
      ['name', 'LowCardinality(String)'],
      ['rule_version', 'UInt32'],
      ['detail', 'String'],
      ['evidence', 'Array(String)'],
    ],
    partitionBy: 'toDate(started_at)',
    orderBy: ['user_id', 'started_at', 'session_id', 'kind', 'name'],
  },
  funnel_outcomes: {
    name: 'funnel_outcomes',
    columns: [
      ['user_id', 'String'],
      ['started_at', TIME],
      ['scope', 'LowCardinality(String)'],
      ['subject_id', 'String'],
      ['funnel', 'LowCardinality(String)'],
      ['steps_reached', 'UInt8'],
      ['total_steps', 'UInt8'],
      ['converted', 'UInt8'],
      ['flagged', 'UInt8'],
      ['evidence', 'Array(String)'],
    ],
    partitionBy: 'toDate(started_at)',
    orderBy: ['user_id', 'started_at', 'scope', 'subject_id', 'funnel'],
  },
};

export function timeColumns(spec: TableSpec): Set<string> {
  return new Set(spec.columns.filter(([, type]) => type === TIME).map(([name]) => name));
}

/** Where a day partition is built before it is swapped in (REPLACE PARTITION needs the same structure). */
export function stagingName(spec: TableSpec): string {
  return `${spec.name}__staging`;
}

export const CHECK_FAILURES_TABLE = 'check_failures';

/**
 * Columns added to a table after stores existed: a store created earlier gains them (and its
 * staging twin, which REPLACE PARTITION needs identical) with the value its old rows mean.
 * Each must be the table's last columns in TABLES, in this order.
 */
export const ADDED_COLUMNS: ReadonlyArray<{ table: TableSpec['name']; column: string; default: string }> = [
  // Rows written before session modes existed were cut by the inactivity gap, rule version 1.
  { table: 'sessions', column: 'session_mode', default: "'gap@1'" },
];

function addedColumnStatements(db: string): string[] {
  return ADDED_COLUMNS.flatMap(({ table, column, default: value }) => {
    const type = TABLES[table].columns.find(([name]) => name === column)![1];
    return [table, stagingName(TABLES[table])].map((name) => `ALTER TABLE ${db}.${name} ADD COLUMN IF NOT EXISTS ${column} ${type} DEFAULT ${value}`);
  });
}

export function schemaStatements(database: string): string[] {
  const db = quoteIdentifier(database);
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    ...Object.values(TABLES).map(
      (spec) => `CREATE TABLE IF NOT EXISTS ${db}.${spec.name} (
      ${spec.columns.map(([name, type]) => `${name} ${type}`).join(',\n      ')},
      version UInt64,
      is_deleted UInt8
    ) ENGINE = ReplacingMergeTree(version, is_deleted)
    PARTITION BY ${spec.partitionBy}
    ORDER BY (${spec.orderBy.join(', ')})`,
    ),
    ...Object.values(TABLES).map((spec) => `CREATE TABLE IF NOT EXISTS ${db}.${stagingName(spec)} AS ${db}.${spec.name}`),
    ...addedColumnStatements(db),
    // Failing rows kept by `journeyctl check --store-failures`: append-only, one row per failing row.
    `CREATE TABLE IF NOT EXISTS ${db}.${CHECK_FAILURES_TABLE} (
      run_id String,
      run_at DateTime64(3, 'UTC'),
      check_name LowCardinality(String),
      check_type LowCardinality(String),
      status LowCardinality(String),
      row String
    ) ENGINE = MergeTree
    PARTITION BY toYYYYMM(run_at)
    ORDER BY (check_name, run_at)`,
    ...mirrorSchemaStatements(db),
  ];
}

/** Reading settings: cheap FINAL (keys never span partitions) and 64-bit numbers as JSON numbers. */
export const READ_SETTINGS = { do_not_merge_across_partitions_select_final: 1, output_format_json_quote_64bit_integers: 0 } as const;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Database names come from config; they are checked, never spliced raw. */
export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`invalid ClickHouse identifier: ${JSON.stringify(name)}`);
  return `\`${name}\``;
}
