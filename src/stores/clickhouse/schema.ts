/**
 * The analytics schema, one SQL source for chdb and ClickHouse servers.
 *
 * ReplacingMergeTree(version, is_deleted): a re-derived row replaces the old one with the same
 * sorting key, and a vanished row is removed by a tombstone (is_deleted = 1) carrying a higher
 * version. Readers use FINAL, so the answer never depends on whether a merge has run yet.
 * Rows with one key always land in one partition (the key contains the partitioning time), so
 * `do_not_merge_across_partitions_select_final` is safe and keeps FINAL cheap.
 */
export function schemaStatements(database: string): string[] {
  const db = quoteIdentifier(database);
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    `CREATE TABLE IF NOT EXISTS ${db}.sessions (
      user_id String,
      started_at DateTime64(3, 'UTC'),
      session_id String,
      ended_at DateTime64(3, 'UTC'),
      anonymous_ids Array(String),
      event_count UInt32,
      first_event LowCardinality(String),
      last_event LowCardinality(String),
      first_message_id String,
      app_versions Array(LowCardinality(String)),
      flags Array(LowCardinality(String)),
      labels Array(LowCardinality(String)),
      version UInt64,
      is_deleted UInt8
    ) ENGINE = ReplacingMergeTree(version, is_deleted)
    PARTITION BY toDate(started_at)
    ORDER BY (user_id, started_at, session_id)`,
    `CREATE TABLE IF NOT EXISTS ${db}.events (
      user_id String,
      event_time DateTime64(3, 'UTC'),
      message_id String,
      session_id String,
      anonymous_id String,
      type LowCardinality(String),
      event LowCardinality(String),
      app_version LowCardinality(String),
      properties String,
      version UInt64,
      is_deleted UInt8
    ) ENGINE = ReplacingMergeTree(version, is_deleted)
    PARTITION BY toDate(event_time)
    ORDER BY (user_id, event_time, message_id)`,
  ];
}

export const FINAL_SETTINGS = { do_not_merge_across_partitions_select_final: 1 } as const;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Database names come from config; they are checked, never spliced raw. */
export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`invalid ClickHouse identifier: ${JSON.stringify(name)}`);
  return `\`${name}\``;
}
