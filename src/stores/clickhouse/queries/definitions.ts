import type { SqlDialect } from './dialect.js';

/** What a query needs besides the dialect: the configured funnels' step names, by funnel. */
export interface QueryContext {
  funnelSteps?: Readonly<Record<string, readonly string[]>>;
}

/**
 * One query over the analytics database, written once: `report`, the HTML report and the Grafana
 * panels all take their SQL from here. `columns` are what every dialect's result holds, in order.
 */
export interface QueryDefinition {
  readonly id: string;
  readonly description: string;
  readonly columns: readonly string[];
  sql(dialect: SqlDialect, context?: QueryContext): string;
}

const define = (definition: QueryDefinition): QueryDefinition => definition;

/** A SQL string literal (config values such as funnel step names are spliced, so they are escaped). */
export function sqlString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** The counted sessions: flagged ones only when asked for. */
const counted = (d: SqlDialect) => `(${d.includeFlagged} OR empty(flags))`;

// ---------------------------------------------------------------- journeys ----

export const sessionsPerDay = define({
  id: 'sessions_per_day',
  description: 'Sessions starting each UTC day, and how many of them carry a flag.',
  columns: ['day', 'sessions', 'flagged'],
  sql: (d) => `SELECT toString(toDate(started_at)) AS day, count() AS sessions, countIf(notEmpty(flags)) AS flagged
FROM ${d.table('sessions')} FINAL
WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')}
GROUP BY day ORDER BY day`,
});

export const labelShares = define({
  id: 'label_shares',
  description: 'Counted sessions carrying each label, and their share of the counted sessions.',
  columns: ['label', 'sessions', 'share'],
  sql: (d) => `SELECT label, count() AS sessions, sessions / greatest(1, (
  SELECT count() FROM ${d.table('sessions')} FINAL WHERE ${d.timeFilter('started_at')} AND ${counted(d)} AND ${d.appVersionsFilter('app_versions')}
)) AS share
FROM ${d.table('sessions')} FINAL ARRAY JOIN labels AS label
WHERE ${d.timeFilter('started_at')} AND ${counted(d)} AND ${d.appVersionsFilter('app_versions')}
GROUP BY label ORDER BY sessions DESC, label`,
});

export const flagShares = define({
  id: 'flag_shares',
  description: 'Sessions carrying each flag, and their share of all sessions.',
  columns: ['flag', 'sessions', 'share'],
  sql: (d) => `SELECT flag, count() AS sessions, sessions / greatest(1, (
  SELECT count() FROM ${d.table('sessions')} FINAL WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')}
)) AS share
FROM ${d.table('sessions')} FINAL ARRAY JOIN flags AS flag
WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')}
GROUP BY flag ORDER BY sessions DESC, flag`,
});

/** `step_name`: "N event" from the configured funnels, else "step N" (the names come with the dashboards' config). */
function stepNames(context: QueryContext | undefined): string {
  const funnels = Object.entries(context?.funnelSteps ?? {});
  if (funnels.length === 0) return `CAST([], 'Array(String)')`;
  return `multiIf(${funnels.map(([funnel, steps]) => `funnel = ${sqlString(funnel)}, [${steps.map(sqlString).join(', ')}]`).join(', ')}, CAST([], 'Array(String)'))`;
}

export const funnelSteps = define({
  id: 'funnel_steps',
  description: 'Per funnel and step: counted sessions that reached at least that step (session scope).',
  columns: ['funnel', 'step', 'step_name', 'total_steps', 'sessions'],
  sql: (d, context) => `SELECT funnel, step, concat(toString(step), ' ', if(step <= length(names), arrayElement(names, step), 'step')) AS step_name,
  any(steps) AS total_steps, countIf(steps_reached >= step) AS sessions
FROM (SELECT funnel, steps_reached, total_steps AS steps, ${stepNames(context)} AS names FROM ${d.table('funnel_outcomes')} FINAL
  WHERE scope = 'session' AND ${d.timeFilter('started_at')} AND (${d.includeFlagged} OR flagged = 0) AND ${d.funnelFilter('funnel')})
ARRAY JOIN range(1, toUInt32(steps) + 1) AS step
GROUP BY funnel, step, step_name ORDER BY funnel, step`,
});

export const funnelOutcomesPerDay = define({
  id: 'funnel_outcomes_per_day',
  description: 'Session-scope funnel outcomes per UTC day: converted, dropped_after_step_k, not_entered.',
  columns: ['time', 'outcome', 'sessions'],
  sql: (d) => `SELECT toStartOfDay(started_at) AS time,
  multiIf(converted = 1, 'converted', steps_reached = 0, 'not_entered', concat('dropped_after_step_', toString(steps_reached))) AS outcome,
  count() AS sessions
FROM ${d.table('funnel_outcomes')} FINAL
WHERE scope = 'session' AND ${d.timeFilter('started_at')} AND (${d.includeFlagged} OR flagged = 0) AND ${d.funnelFilter('funnel')}
GROUP BY time, outcome ORDER BY time, outcome`,
});

export const labelSharesOverTime = define({
  id: 'label_shares_over_time',
  description: 'Per time bucket and label: share of the counted sessions starting in the bucket that carry it.',
  columns: ['time', 'label', 'share'],
  sql: (d) => `SELECT time, label, countIf(has(labels, label)) / count() AS share
FROM (SELECT ${d.timeBucket('started_at')} AS time, labels FROM ${d.table('sessions')} FINAL
  WHERE ${d.timeFilter('started_at')} AND ${counted(d)} AND ${d.appVersionsFilter('app_versions')})
ARRAY JOIN (SELECT groupUniqArrayArray(labels) FROM ${d.table('sessions')} FINAL WHERE ${d.timeFilter('started_at')}) AS label
GROUP BY time, label ORDER BY time, label`,
});

export const flaggedShareOverTime = define({
  id: 'flagged_share_over_time',
  description: 'Per time bucket and flag: share of the sessions starting in the bucket that carry it.',
  columns: ['time', 'flag', 'share'],
  sql: (d) => `SELECT time, flag, countIf(has(flags, flag)) / count() AS share
FROM (SELECT ${d.timeBucket('started_at')} AS time, flags FROM ${d.table('sessions')} FINAL
  WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')})
ARRAY JOIN (SELECT groupUniqArrayArray(flags) FROM ${d.table('sessions')} FINAL WHERE ${d.timeFilter('started_at')}) AS flag
GROUP BY time, flag ORDER BY time, flag`,
});

export const sessionsOverTime = define({
  id: 'sessions_over_time',
  description: 'Sessions starting per time bucket, and how many carry a flag.',
  columns: ['time', 'sessions', 'flagged'],
  sql: (d) => `SELECT ${d.timeBucket('started_at')} AS time, count() AS sessions, countIf(notEmpty(flags)) AS flagged
FROM ${d.table('sessions')} FINAL
WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')}
GROUP BY time ORDER BY time`,
});

const LENGTH_BUCKETS: ReadonlyArray<readonly [limitSeconds: number, label: string]> = [
  [60, '< 1 min'],
  [300, '1–5 min'],
  [900, '5–15 min'],
  [1800, '15–30 min'],
  [3600, '30–60 min'],
  [4 * 3600, '1–4 h'],
];

export const sessionLengths = define({
  id: 'session_lengths',
  description: 'Sessions by length (end minus start), in fixed buckets.',
  columns: ['length', 'sessions'],
  sql: (d) => {
    const seconds = `dateDiff('second', started_at, ended_at)`;
    const index = `multiIf(${LENGTH_BUCKETS.map(([limit], i) => `${seconds} < ${limit}, ${i}`).join(', ')}, ${LENGTH_BUCKETS.length})`;
    const labels = `[${[...LENGTH_BUCKETS.map(([, label]) => label), '≥ 4 h'].map(sqlString).join(', ')}]`;
    return `SELECT arrayElement(${labels}, bucket + 1) AS length, count() AS sessions
FROM (SELECT ${index} AS bucket FROM ${d.table('sessions')} FINAL WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')})
GROUP BY bucket ORDER BY bucket`;
  },
});

export const eventsPerSession = define({
  id: 'events_per_session',
  description: 'Sessions by number of events, in power-of-two buckets (1, 2–3, 4–7, …).',
  columns: ['events', 'sessions'],
  sql: (d) => `SELECT if(low = high, toString(low), concat(toString(low), '–', toString(high))) AS events, count() AS sessions
FROM (SELECT toUInt64(pow(2, floor(log2(greatest(event_count, 1))))) AS low, low * 2 - 1 AS high
  FROM ${d.table('sessions')} FINAL WHERE ${d.timeFilter('started_at')} AND ${d.appVersionsFilter('app_versions')})
GROUP BY low, high ORDER BY low`,
});
