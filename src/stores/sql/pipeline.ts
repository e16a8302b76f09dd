import { define } from './definitions.js';
import type { SqlDialect } from './dialect.js';

// Pipeline health and stewardship read the mirror tables (published copies of the raw store's facts).

/** The received-lines minutes in the range, of the selected app versions (the same text on both engines). */
const minutesInRange = (d: SqlDialect) => `FROM ${d.table('pipeline_minutes')}
WHERE ${d.timeFilter('minute')} AND ${d.appVersionFilter('app_version')}`;

export const linesPerMinute = define({
  id: 'lines_per_minute',
  description: 'Lines received per minute (accepted and rejected), averaged over each time bucket.',
  columns: ['time', 'lines_per_minute'],
  sql: {
    clickhouse: (d) => `SELECT ${d.timeBucket('minute')} AS time, sum(lines) / (greatest(${d.intervalSeconds}, 60) / 60) AS lines_per_minute
${minutesInRange(d)}
GROUP BY time ORDER BY time`,
    bigquery: (d) => `SELECT ${d.timeBucket('minute')} AS time, SUM(lines) / (GREATEST(${d.intervalSeconds}, 60) / 60) AS lines_per_minute
${minutesInRange(d)}
GROUP BY time ORDER BY time`,
  },
});

export const linesByOutcome = define({
  id: 'lines_by_outcome',
  description: 'Lines per time bucket: accepted, and rejected by reason.',
  columns: ['time', 'outcome', 'lines'],
  sql: {
    clickhouse: (d) => `SELECT ${d.timeBucket('minute')} AS time, if(outcome = 'accepted', 'accepted', concat('rejected: ', reason)) AS outcome, sum(lines) AS lines
${minutesInRange(d)}
GROUP BY time, outcome ORDER BY time, outcome`,
    // Positional GROUP BY: the output's `outcome` is not the column of the same name.
    bigquery: (d) => `SELECT ${d.timeBucket('minute')} AS time, IF(outcome = 'accepted', 'accepted', CONCAT('rejected: ', reason)) AS outcome, SUM(lines) AS lines
${minutesInRange(d)}
GROUP BY 1, 2 ORDER BY 1, 2`,
  },
});

export const duplicateAndLateRates = define({
  id: 'duplicate_and_late_rates',
  description: 'Extra distinct copies ÷ accepted and late ÷ accepted, per time bucket of received time.',
  columns: ['time', 'duplicate_rate', 'late_rate'],
  sql: {
    clickhouse: (d) => `SELECT ${d.timeBucket('minute')} AS time,
  sum(extra_copies) / greatest(1, sumIf(lines, outcome = 'accepted')) AS duplicate_rate,
  sum(late) / greatest(1, sumIf(lines, outcome = 'accepted')) AS late_rate
${minutesInRange(d)}
GROUP BY time ORDER BY time`,
    bigquery: (d) => `SELECT ${d.timeBucket('minute')} AS time,
  SUM(extra_copies) / GREATEST(1, SUM(IF(outcome = 'accepted', lines, 0))) AS duplicate_rate,
  SUM(late) / GREATEST(1, SUM(IF(outcome = 'accepted', lines, 0))) AS late_rate
${minutesInRange(d)}
GROUP BY time ORDER BY time`,
  },
});

export const rejectedShareByVersion = define({
  id: 'rejected_share_by_version',
  description: 'Rejected ÷ received lines per time bucket and app version (lines without a version are "unknown").',
  columns: ['time', 'app_version', 'rejected_share'],
  sql: {
    clickhouse: (d) => `SELECT ${d.timeBucket('minute')} AS time, if(app_version = '', 'unknown', app_version) AS app_version,
  sumIf(lines, outcome = 'rejected') / sum(lines) AS rejected_share
${minutesInRange(d)}
GROUP BY time, app_version ORDER BY time, app_version`,
    // SAFE_DIVIDE: a bucket of extra copies only has no lines (BigQuery fails on a division by zero).
    bigquery: (d) => `SELECT ${d.timeBucket('minute')} AS time, IF(app_version = '', 'unknown', app_version) AS app_version,
  SAFE_DIVIDE(SUM(IF(outcome = 'rejected', lines, 0)), SUM(lines)) AS rejected_share
${minutesInRange(d)}
GROUP BY 1, 2 ORDER BY 1, 2`,
  },
});

export const rejectedByReason = define({
  id: 'rejected_by_reason',
  description: 'Rejected lines by reason over the range.',
  columns: ['reason', 'lines'],
  sql: {
    clickhouse: (d) => `SELECT reason, sum(lines) AS lines FROM ${d.table('pipeline_minutes')}
WHERE outcome = 'rejected' AND ${d.timeFilter('minute')} AND ${d.appVersionFilter('app_version')}
GROUP BY reason ORDER BY lines DESC, reason`,
    bigquery: (d) => `SELECT reason, SUM(lines) AS lines FROM ${d.table('pipeline_minutes')}
WHERE outcome = 'rejected' AND ${d.timeFilter('minute')} AND ${d.appVersionFilter('app_version')}
GROUP BY reason ORDER BY lines DESC, reason`,
  },
});

/** Grafana annotations: `time`, `timeEnd` (a region), `text`, `tags`. */
export const releaseBurstRegions = define({
  id: 'release_burst_regions',
  description: 'Release bursts overlapping the range, as regions: window, version, rejected of lines, top reasons.',
  columns: ['time', 'timeEnd', 'text', 'tags'],
  sql: {
    clickhouse: (d) => `SELECT window_start AS time, window_end AS timeEnd,
  concat('release burst ', app_version, ': ', toString(rejected), ' of ', toString(accepted + rejected), ' lines rejected (', arrayStringConcat(top_reasons, ', '), ')') AS text,
  ['release_burst', app_version] AS tags
FROM ${d.table('release_bursts')}
WHERE ${d.timeFilter('window_end')} AND ${d.appVersionFilter('app_version')}
ORDER BY time`,
    bigquery: (d) => `SELECT window_start AS time, window_end AS timeEnd,
  CONCAT('release burst ', app_version, ': ', CAST(rejected AS STRING), ' of ', CAST(accepted + rejected AS STRING), ' lines rejected (', ARRAY_TO_STRING(top_reasons, ', '), ')') AS text,
  ['release_burst', app_version] AS tags
FROM ${d.table('release_bursts')}
WHERE ${d.timeFilter('window_end')} AND ${d.appVersionFilter('app_version')}
ORDER BY time`,
  },
});

// ------------------------------------------------------------- stewardship ----

/** Corrections made per time bucket, by a column of the corrections table. */
const correctionsBy = (column: 'kind' | 'actor') => ({
  clickhouse: (d: SqlDialect) => `SELECT ${d.timeBucket('created_at')} AS time, ${column}, count() AS corrections
FROM ${d.table('corrections')} WHERE ${d.timeFilter('created_at')}
GROUP BY time, ${column} ORDER BY time, ${column}`,
  bigquery: (d: SqlDialect) => `SELECT ${d.timeBucket('created_at')} AS time, ${column}, COUNT(*) AS corrections
FROM ${d.table('corrections')} WHERE ${d.timeFilter('created_at')}
GROUP BY time, ${column} ORDER BY time, ${column}`,
});

export const correctionsByKind = define({
  id: 'corrections_by_kind',
  description: 'Corrections made per time bucket, by kind (reverts included as their own kind).',
  columns: ['time', 'kind', 'corrections'],
  sql: correctionsBy('kind'),
});

export const correctionsByActor = define({
  id: 'corrections_by_actor',
  description: 'Corrections made per time bucket, by actor.',
  columns: ['time', 'actor', 'corrections'],
  sql: correctionsBy('actor'),
});

export const manualFlags = define({
  id: 'manual_flags',
  description: 'Manual flags and unflags per time bucket, by code and actor.',
  columns: ['time', 'action', 'corrections'],
  sql: {
    clickhouse: (d) => `SELECT ${d.timeBucket('created_at')} AS time, concat(if(kind = 'unflag_session', 'unflag ', 'flag '), code, ' by ', actor) AS action, count() AS corrections
FROM ${d.table('corrections')} WHERE kind IN ('flag_session', 'flag_sessions', 'unflag_session') AND ${d.timeFilter('created_at')}
GROUP BY time, action ORDER BY time, action`,
    bigquery: (d) => `SELECT ${d.timeBucket('created_at')} AS time, CONCAT(IF(kind = 'unflag_session', 'unflag ', 'flag '), code, ' by ', actor) AS action, COUNT(*) AS corrections
FROM ${d.table('corrections')} WHERE kind IN ('flag_session', 'flag_sessions', 'unflag_session') AND ${d.timeFilter('created_at')}
GROUP BY time, action ORDER BY time, action`,
  },
});

export const recentCorrections = define({
  id: 'recent_corrections',
  description: 'The latest corrections in the range: who, when, why, and whether reverted.',
  columns: ['created_at', 'id', 'kind', 'actor', 'reason', 'ticket', 'reverted'],
  // The same text on both engines.
  sql: (d) => `SELECT created_at, id, kind, actor, reason, ticket, reverted FROM ${d.table('corrections')}
WHERE ${d.timeFilter('created_at')} ORDER BY created_at DESC, id LIMIT 200`,
});
