/**
 * The raw store's tables in ClickHouse (chdb or a server; one SQL source), and the TSV form its
 * batches travel in. Why these keys and partitions: docs/decisions/0021-raw-events-in-clickhouse.md.
 *
 * - `raw_events`: one row per message id (the earliest-received copy, ADR 0011), deduplicated at
 *   ingest, not by ReplacingMergeTree. Sorted by (identity_key, event_time, message_id), the order
 *   derivation reads; partitioned by UTC day of received time, so one ingest batch (lines arrive
 *   roughly in received order) touches one or two partitions. `message_key` (sipHash64 of the
 *   message id) is the dedup pre-filter, `seq` the arrival order tail reads.
 * - `raw_rejected`: one row per rejected line (keyed by its hash), sorted by hash for the dedup look-up.
 * - `raw_copies`: (message id, line hash) of every distinct line of a message id received more than
 *   once with other bytes. Rows may repeat (a batch written again after a crash): read DISTINCT.
 */
import { quoteIdentifier } from '../schema.js';

export const RAW_TABLES = { events: 'raw_events', rejected: 'raw_rejected', copies: 'raw_copies' } as const;

const TIME = "DateTime64(3, 'UTC')";

/** A column as the batch carries it (times as epoch ms) and how the table stores it. */
export interface BatchColumn {
  name: string;
  /** The type in the batch's TSV. */
  input: string;
  /** The expression that turns the input column into the stored one. */
  stored: string;
}

const text = (name: string): BatchColumn => ({ name, input: 'String', stored: name });
const nullableText = (name: string): BatchColumn => ({ name, input: 'Nullable(String)', stored: name });
const time = (name: string): BatchColumn => ({ name, input: 'Int64', stored: `fromUnixTimestamp64Milli(${name}, 'UTC')` });
const int = (name: string, type: string): BatchColumn => ({ name, input: type, stored: name });

/** raw_events columns in batch order; message_key is MATERIALIZED from message_id. */
export const EVENT_COLUMNS: readonly BatchColumn[] = [
  text('message_id'),
  text('identity_key'),
  nullableText('user_id'),
  nullableText('anonymous_id'),
  nullableText('previous_id'),
  text('type'),
  text('event'),
  time('event_time'),
  text('time_source'),
  int('skew_ms', 'Int64'),
  time('received_at'),
  nullableText('app_version'),
  text('properties'),
  text('traits'),
  text('raw'),
  text('raw_hash'),
  int('seq', 'UInt64'),
  time('ingested_at'),
];

export const REJECTED_COLUMNS: readonly BatchColumn[] = [
  text('raw_hash'),
  text('reason'),
  text('detail'),
  time('received_at'),
  nullableText('message_id'),
  nullableText('event'),
  nullableText('app_version'),
  text('raw'),
  int('seq', 'UInt64'),
  time('ingested_at'),
];

export const COPY_COLUMNS: readonly BatchColumn[] = [text('message_id'), text('raw_hash')];

export function rawSchemaStatements(database: string): string[] {
  const db = quoteIdentifier(database);
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    `CREATE TABLE IF NOT EXISTS ${db}.${RAW_TABLES.events} (
      identity_key String,
      event_time ${TIME},
      message_id String,
      message_key UInt64 MATERIALIZED sipHash64(message_id),
      seq UInt64,
      user_id Nullable(String),
      anonymous_id Nullable(String),
      previous_id Nullable(String),
      type LowCardinality(String),
      event String,
      time_source LowCardinality(String),
      skew_ms Int64,
      received_at ${TIME},
      app_version LowCardinality(Nullable(String)),
      properties String,
      traits String,
      raw String,
      raw_hash String,
      ingested_at ${TIME},
      INDEX message_key_bloom message_key TYPE bloom_filter(0.01) GRANULARITY 1,
      INDEX seq_range seq TYPE minmax GRANULARITY 1,
      INDEX event_time_range event_time TYPE minmax GRANULARITY 4
    ) ENGINE = MergeTree
    PARTITION BY toYYYYMMDD(received_at)
    ORDER BY (identity_key, event_time, message_id)`,
    `CREATE TABLE IF NOT EXISTS ${db}.${RAW_TABLES.rejected} (
      raw_hash String,
      seq UInt64,
      reason LowCardinality(String),
      detail String,
      received_at ${TIME},
      message_id Nullable(String),
      event Nullable(String),
      app_version LowCardinality(Nullable(String)),
      raw String,
      ingested_at ${TIME},
      INDEX seq_range seq TYPE minmax GRANULARITY 1
    ) ENGINE = MergeTree
    PARTITION BY toYYYYMMDD(received_at)
    ORDER BY raw_hash`,
    `CREATE TABLE IF NOT EXISTS ${db}.${RAW_TABLES.copies} (
      message_id String,
      raw_hash String
    ) ENGINE = ReplacingMergeTree
    ORDER BY (message_id, raw_hash)`,
  ];
}

/** `name Type, …` of a batch's columns: the structure `file()` and `input()` read it with. */
export function batchStructure(columns: readonly BatchColumn[]): string {
  return columns.map((c) => `${c.name} ${c.input}`).join(', ');
}

/** The SELECT list that turns a batch's columns into the table's. */
export function storedList(columns: readonly BatchColumn[]): string {
  return columns.map((c) => (c.stored === c.name ? c.name : `${c.stored} AS ${c.name}`)).join(', ');
}
