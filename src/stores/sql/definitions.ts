import type { SqlDialect, SqlEngine } from './dialect.js';

/** What a query needs besides the dialect: the configured funnels' step names, by funnel. */
export interface QueryContext {
  funnelSteps?: Readonly<Record<string, readonly string[]>>;
}

/**
 * One figure over the analytics database, defined once: `report`, the HTML report and the Grafana
 * panels all take their SQL from here. `columns` are what every rendering's result holds, in
 * order; `sql` renders the figure for the dialect's engine (ClickHouse or BigQuery).
 */
export interface QueryDefinition {
  readonly id: string;
  readonly description: string;
  readonly columns: readonly string[];
  sql(dialect: SqlDialect, context?: QueryContext): string;
}

type Rendering = (dialect: SqlDialect, context?: QueryContext) => string;

/**
 * A figure with its SQL: one rendering per engine where ClickHouse and BigQuery differ (function
 * names, arrays, JOIN syntax, FINAL), or one for both where they do not.
 */
export function define(spec: Omit<QueryDefinition, 'sql'> & { sql: Rendering | Record<SqlEngine, Rendering> }): QueryDefinition {
  const { sql, ...figure } = spec;
  return { ...figure, sql: typeof sql === 'function' ? sql : (dialect, context) => sql[dialect.engine](dialect, context) };
}

/** A SQL string literal (config values such as funnel step names are spliced, so they are escaped); ClickHouse and BigQuery escape alike. */
export function sqlString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** Sessions starting in the range, of the selected app versions. */
const sessionsInRange = (d: SqlDialect) => `${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')}`;
/** The same, counted ones only: flagged ones only when asked for. */
const countedInRange = (d: SqlDialect) => `${d.timeFilter('started_at')} AND ${counted(d)} AND ${d.appVersionsFilter('app_versions')}`;

/** The counted sessions: flagged ones only when asked for. */
const counted = (d: SqlDialect) => (d.engine === 'bigquery' ? `(${d.includeFlagged} OR ARRAY_LENGTH(flags) = 0)` : `(${d.includeFlagged} OR empty(flags))`);

// ---------------------------------------------------------------- journeys ----

export const sessionsPerDay = define({
  id: 'sessions_per_day',
  description: 'Sessions starting each UTC day, and how many of them carry a flag.',
  columns: ['day', 'sessions', 'flagged'],
  sql: {
    clickhouse: (d) => `SELECT toString(toDate(started_at)) AS day, count() AS sessions, countIf(notEmpty(flags)) AS flagged
FROM ${d.table('sessions')} FINAL
WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')}
GROUP BY day ORDER BY day`,
    bigquery: (d) => `SELECT CAST(DATE(started_at) AS STRING) AS day, COUNT(*) AS sessions, COUNTIF(ARRAY_LENGTH(flags) > 0) AS flagged
FROM ${d.table('sessions')}
WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')}
GROUP BY day ORDER BY day`,
  },
});

/** Sessions carrying each value of an array column (`labels`, `flags`), and their share of the sessions the condition keeps. */
const arrayShares = (column: 'labels' | 'flags', value: string, where: (d: SqlDialect) => string) => ({
  clickhouse: (d: SqlDialect) => `SELECT ${value}, count() AS sessions, sessions / greatest(1, (
  SELECT count() FROM ${d.table('sessions')} FINAL WHERE ${where(d)}
)) AS share
FROM ${d.table('sessions')} FINAL ARRAY JOIN ${column} AS ${value}
WHERE ${where(d)}
GROUP BY ${value} ORDER BY sessions DESC, ${value}`,
  bigquery: (d: SqlDialect) => `SELECT ${value}, COUNT(*) AS sessions, COUNT(*) / GREATEST(1, (
  SELECT COUNT(*) FROM ${d.table('sessions')} WHERE ${where(d)}
)) AS share
FROM ${d.table('sessions')} CROSS JOIN UNNEST(${column}) AS ${value}
WHERE ${where(d)}
GROUP BY ${value} ORDER BY sessions DESC, ${value}`,
});

export const labelShares = define({
  id: 'label_shares',
  description: 'Counted sessions carrying each label, and their share of the counted sessions.',
  columns: ['label', 'sessions', 'share'],
  sql: arrayShares('labels', 'label', countedInRange),
});

export const flagShares = define({
  id: 'flag_shares',
  description: 'Sessions carrying each flag, and their share of all sessions.',
  columns: ['flag', 'sessions', 'share'],
  sql: arrayShares('flags', 'flag', sessionsInRange),
});

/** `step_name`: "N event" from the configured funnels, else "step N" (the names come with the dashboards' config). */
function stepNames(context: QueryContext | undefined): string {
  const funnels = Object.entries(context?.funnelSteps ?? {});
  if (funnels.length === 0) return `CAST([], 'Array(String)')`;
  return `multiIf(${funnels.map(([funnel, steps]) => `funnel = ${sqlString(funnel)}, [${steps.map(sqlString).join(', ')}]`).join(', ')}, CAST([], 'Array(String)'))`;
}

/**
 * BigQuery: the step's event name by funnel and step, else 'step'. A CASE, not an array
 * subscript: bqemulator 1.4 shifts subscripts by a non-literal index (docs/decisions/0019).
 */
function bigQueryStepName(context: QueryContext | undefined): string {
  const names = Object.entries(context?.funnelSteps ?? {}).flatMap(([funnel, steps]) =>
    steps.map((name, index) => `WHEN funnel = ${sqlString(funnel)} AND step = ${index + 1} THEN ${sqlString(name)}`),
  );
  return names.length === 0 ? `'step'` : `CASE ${names.join(' ')} ELSE 'step' END`;
}

export const funnelSteps = define({
  id: 'funnel_steps',
  description: 'Per funnel and step: counted sessions that reached at least that step (session scope).',
  columns: ['funnel', 'step', 'step_name', 'total_steps', 'sessions'],
  sql: {
    clickhouse: (d, context) => `SELECT funnel, step, concat(toString(step), ' ', if(step <= length(names), arrayElement(names, step), 'step')) AS step_name,
  any(steps) AS total_steps, countIf(steps_reached >= step) AS sessions
FROM (SELECT funnel, steps_reached, total_steps AS steps, ${stepNames(context)} AS names FROM ${d.table('funnel_outcomes')} FINAL
  WHERE scope = 'session' AND ${d.timeFilter('started_at')} AND (${d.includeFlagged} OR flagged = 0) AND ${d.funnelFilter('funnel')})
ARRAY JOIN range(1, toUInt32(steps) + 1) AS step
GROUP BY funnel, step, step_name ORDER BY funnel, step`,
    bigquery: (d, context) => `SELECT funnel, step, CONCAT(CAST(step AS STRING), ' ', ${bigQueryStepName(context)}) AS step_name,
  ANY_VALUE(steps) AS total_steps, COUNTIF(steps_reached >= step) AS sessions
FROM (SELECT funnel, steps_reached, total_steps AS steps FROM ${d.table('funnel_outcomes')}
  WHERE scope = 'session' AND ${d.timeFilter('started_at')} AND (${d.includeFlagged} OR flagged = 0) AND ${d.funnelFilter('funnel')})
CROSS JOIN UNNEST(GENERATE_ARRAY(1, steps)) AS step
GROUP BY funnel, step, step_name ORDER BY funnel, step`,
  },
});

export const funnelOutcomesPerDay = define({
  id: 'funnel_outcomes_per_day',
  description: 'Session-scope funnel outcomes per UTC day: converted, dropped_after_step_k, not_entered.',
  columns: ['time', 'outcome', 'sessions'],
  sql: {
    clickhouse: (d) => `SELECT toStartOfDay(started_at) AS time,
  multiIf(converted = 1, 'converted', steps_reached = 0, 'not_entered', concat('dropped_after_step_', toString(steps_reached))) AS outcome,
  count() AS sessions
FROM ${d.table('funnel_outcomes')} FINAL
WHERE scope = 'session' AND ${d.timeFilter('started_at')} AND (${d.includeFlagged} OR flagged = 0) AND ${d.funnelFilter('funnel')}
GROUP BY time, outcome ORDER BY time, outcome`,
    bigquery: (d) => `SELECT TIMESTAMP_TRUNC(started_at, DAY) AS time,
  CASE WHEN converted = 1 THEN 'converted' WHEN steps_reached = 0 THEN 'not_entered' ELSE CONCAT('dropped_after_step_', CAST(steps_reached AS STRING)) END AS outcome,
  COUNT(*) AS sessions
FROM ${d.table('funnel_outcomes')}
WHERE scope = 'session' AND ${d.timeFilter('started_at')} AND (${d.includeFlagged} OR flagged = 0) AND ${d.funnelFilter('funnel')}
GROUP BY 1, 2 ORDER BY 1, 2`,
  },
});

/** Per time bucket and value of an array column: the share of the sessions (the condition keeps) starting in the bucket that carry it. */
const arraySharesOverTime = (column: 'labels' | 'flags', value: string, where: (d: SqlDialect) => string) => ({
  clickhouse: (d: SqlDialect) => `SELECT time, ${value}, countIf(has(${column}, ${value})) / count() AS share
FROM (SELECT ${d.timeBucket('started_at')} AS time, ${column} FROM ${d.table('sessions')} FINAL
  WHERE ${where(d)})
ARRAY JOIN (SELECT groupUniqArrayArray(${column}) FROM ${d.table('sessions')} FINAL WHERE ${d.timeFilter('started_at')}) AS ${value}
GROUP BY time, ${value} ORDER BY time, ${value}`,
  bigquery: (d: SqlDialect) => `SELECT time, ${value}, COUNTIF(${value} IN UNNEST(${column})) / COUNT(*) AS share
FROM (SELECT ${d.timeBucket('started_at')} AS time, ${column} FROM ${d.table('sessions')}
  WHERE ${where(d)})
CROSS JOIN (SELECT DISTINCT ${value} FROM ${d.table('sessions')} CROSS JOIN UNNEST(${column}) AS ${value} WHERE ${d.timeFilter('started_at')})
GROUP BY time, ${value} ORDER BY time, ${value}`,
});

export const labelSharesOverTime = define({
  id: 'label_shares_over_time',
  description: 'Per time bucket and label: share of the counted sessions starting in the bucket that carry it.',
  columns: ['time', 'label', 'share'],
  sql: arraySharesOverTime('labels', 'label', countedInRange),
});

export const flaggedShareOverTime = define({
  id: 'flagged_share_over_time',
  description: 'Per time bucket and flag: share of the sessions starting in the bucket that carry it.',
  columns: ['time', 'flag', 'share'],
  sql: arraySharesOverTime('flags', 'flag', sessionsInRange),
});

export const sessionsOverTime = define({
  id: 'sessions_over_time',
  description: 'Sessions starting per time bucket, and how many carry a flag.',
  columns: ['time', 'sessions', 'flagged'],
  sql: {
    clickhouse: (d) => `SELECT ${d.timeBucket('started_at')} AS time, count() AS sessions, countIf(notEmpty(flags)) AS flagged
FROM ${d.table('sessions')} FINAL
WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')}
GROUP BY time ORDER BY time`,
    bigquery: (d) => `SELECT ${d.timeBucket('started_at')} AS time, COUNT(*) AS sessions, COUNTIF(ARRAY_LENGTH(flags) > 0) AS flagged
FROM ${d.table('sessions')}
WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')}
GROUP BY time ORDER BY time`,
  },
});

const LENGTH_BUCKETS: ReadonlyArray<readonly [limitSeconds: number, label: string]> = [
  [60, '< 1 min'],
  [300, '1–5 min'],
  [900, '5–15 min'],
  [1800, '15–30 min'],
  [3600, '30–60 min'],
  [4 * 3600, '1–4 h'],
];
const LENGTH_LABELS = [...LENGTH_BUCKETS.map(([, label]) => label), '≥ 4 h'];

export const sessionLengths = define({
  id: 'session_lengths',
  description: 'Sessions by length (end minus start), in fixed buckets.',
  columns: ['length', 'sessions'],
  sql: {
    clickhouse: (d) => {
      const seconds = `dateDiff('second', started_at, ended_at)`;
      const index = `multiIf(${LENGTH_BUCKETS.map(([limit], i) => `${seconds} < ${limit}, ${i}`).join(', ')}, ${LENGTH_BUCKETS.length})`;
      return `SELECT arrayElement([${LENGTH_LABELS.map(sqlString).join(', ')}], bucket + 1) AS length, count() AS sessions
FROM (SELECT ${index} AS bucket FROM ${d.table('sessions')} FINAL WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')})
GROUP BY bucket ORDER BY bucket`;
    },
    // The label by CASE, not an array subscript (see bigQueryStepName).
    bigquery: (d) => {
      const seconds = `TIMESTAMP_DIFF(ended_at, started_at, SECOND)`;
      const index = `CASE ${LENGTH_BUCKETS.map(([limit], i) => `WHEN ${seconds} < ${limit} THEN ${i}`).join(' ')} ELSE ${LENGTH_BUCKETS.length} END`;
      const label = `CASE bucket ${LENGTH_LABELS.map((name, i) => `WHEN ${i} THEN ${sqlString(name)}`).join(' ')} END`;
      return `SELECT ${label} AS length, COUNT(*) AS sessions
FROM (SELECT ${index} AS bucket FROM ${d.table('sessions')} WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')})
GROUP BY bucket ORDER BY bucket`;
    },
  },
});

export const eventsPerSession = define({
  id: 'events_per_session',
  description: 'Sessions by number of events, in power-of-two buckets (1, 2–3, 4–7, …).',
  columns: ['events', 'sessions'],
  sql: {
    clickhouse: (d) => `SELECT if(low = high, toString(low), concat(toString(low), '–', toString(high))) AS events, count() AS sessions
FROM (SELECT toUInt64(pow(2, floor(log2(greatest(event_count, 1))))) AS low, low * 2 - 1 AS high
  FROM ${d.table('sessions')} FINAL WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')})
GROUP BY low, high ORDER BY low`,
    // LOG(x, 2) of a power of two can land just below the integer: the nudge keeps it exact for counts below 2^29.
    bigquery: (d) => `SELECT IF(low = high, CAST(low AS STRING), CONCAT(CAST(low AS STRING), '–', CAST(high AS STRING))) AS events, COUNT(*) AS sessions
FROM (SELECT low, low * 2 - 1 AS high FROM (SELECT CAST(POW(2, FLOOR(LOG(GREATEST(event_count, 1), 2) + 1e-9)) AS INT64) AS low
  FROM ${d.table('sessions')} WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')}))
GROUP BY low, high ORDER BY low`,
  },
});
