/**
 * What the raw store knows and dashboards need, mirrored into the analytics database: received
 * lines per minute (accepted, late, extra copies, rejected by reason, per app version), the
 * release bursts, and the stewards' corrections. They are copies — a function of the raw store —
 * replaced whole each time they are published (see publishPipelineFacts), so plain MergeTree.
 */
/** What a published copy was made from (see PipelineFactsMirror.pipelineFactsToken). */
export const FACTS_PUBLISHED_TABLE = 'pipeline_facts_published';
export const MIRROR_TABLES = ['pipeline_minutes', 'release_bursts', 'corrections', FACTS_PUBLISHED_TABLE] as const;
export type MirrorTable = (typeof MIRROR_TABLES)[number];

export function mirrorSchemaStatements(db: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.pipeline_minutes (
      minute DateTime('UTC'),
      app_version LowCardinality(String),
      outcome LowCardinality(String),
      reason LowCardinality(String),
      lines UInt64,
      late UInt64,
      extra_copies UInt64
    ) ENGINE = MergeTree ORDER BY (minute, app_version, outcome, reason)`,
    `CREATE TABLE IF NOT EXISTS ${db}.release_bursts (
      app_version LowCardinality(String),
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      accepted UInt64,
      rejected UInt64,
      share Float64,
      baseline Float64,
      top_reasons Array(String)
    ) ENGINE = MergeTree ORDER BY (window_start, app_version)`,
    `CREATE TABLE IF NOT EXISTS ${db}.corrections (
      id String,
      created_at DateTime64(3, 'UTC'),
      kind LowCardinality(String),
      actor String,
      reason String,
      ticket String,
      code String,
      reverted UInt8
    ) ENGINE = MergeTree ORDER BY (created_at, id)`,
    // What the copy above was made from (a token of the raw store's state) and how many rows each
    // table got: a run that changed nothing finds the copy current and does not publish it again.
    `CREATE TABLE IF NOT EXISTS ${db}.${FACTS_PUBLISHED_TABLE} (
      token String,
      pipeline_minutes UInt64,
      release_bursts UInt64,
      corrections UInt64
    ) ENGINE = MergeTree ORDER BY tuple()`,
  ];
}
