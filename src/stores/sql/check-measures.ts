/**
 * The SQL of the check measures (`journeyctl check`), one definition per measure with its
 * ClickHouse and BigQuery renderings; `t` qualifies a table of the analytics database. Every value
 * is a bound parameter with the same name on both engines (`{from:Int64}` in ClickHouse, `@from`
 * in BigQuery); what the parameters mean for a check lives in src/checks. Ranges bind `from` and
 * `to` (epoch ms, to exclusive).
 */
import type { SqlEngine } from './dialect.js';

type Table = (name: string) => string;
type Measure<A extends unknown[], R = string> = Record<SqlEngine, (t: Table, ...args: A) => R>;

const inRange = {
  clickhouse: (column: string, from = 'from', to = 'to') => `${column} >= fromUnixTimestamp64Milli({${from}:Int64}) AND ${column} < fromUnixTimestamp64Milli({${to}:Int64})`,
  bigquery: (column: string, from = 'from', to = 'to') => `${column} >= TIMESTAMP_MILLIS(@${from}) AND ${column} < TIMESTAMP_MILLIS(@${to})`,
};

/**
 * BigQuery: up to `@sample` values of `id` where `condition` holds, in id order. The plain form,
 * `ARRAY_AGG(IF(…) IGNORE NULLS ORDER BY id LIMIT @sample)`, is valid BigQuery that bqemulator 1.4
 * cannot translate (docs/decisions/0019); this one is valid on both.
 */
const bigQuerySample = (condition: string, id: string) =>
  `ARRAY(SELECT v FROM UNNEST(ARRAY_AGG(IF(${condition}, ${id}, NULL) ORDER BY NOT (${condition}), ${id} LIMIT @sample)) AS v WHERE v IS NOT NULL)`;

const timeColumn = (table: 'events' | 'sessions') => (table === 'events' ? 'event_time' : 'started_at');

/** Rows per UTC day of the time column of `events` (event time) or `sessions` (start): `day`, `n`. */
export const dailyCountsSql: Measure<['events' | 'sessions']> = {
  clickhouse: (t, table) => `SELECT toString(toDate(${timeColumn(table)})) AS day, count() AS n FROM ${t(table)} FINAL
       WHERE ${inRange.clickhouse(timeColumn(table))} GROUP BY day ORDER BY day`,
  bigquery: (t, table) => `SELECT CAST(DATE(${timeColumn(table)}) AS STRING) AS day, COUNT(*) AS n FROM ${t(table)}
       WHERE ${inRange.bigquery(timeColumn(table))} GROUP BY day ORDER BY day`,
};

/** `to`: how many events there are before it (`n`), and the newest one's time (`newest`, epoch ms). */
export const newestEventTimeSql: Measure<[]> = {
  clickhouse: (t) => `SELECT count() AS n, toUnixTimestamp64Milli(max(event_time)) AS newest FROM ${t('events')} FINAL WHERE event_time < fromUnixTimestamp64Milli({to:Int64})`,
  bigquery: (t) => `SELECT COUNT(*) AS n, UNIX_MILLIS(MAX(event_time)) AS newest FROM ${t('events')} WHERE event_time < TIMESTAMP_MILLIS(@to)`,
};

/**
 * One property of one event: `event`, the property (ClickHouse `{property:String}`; BigQuery
 * `@path`, its JSONPath), `accepted` (array of JSON texts), `check` (1: count values outside
 * accepted), `sample`. Missing = absent or JSON null. `summary`: rows, missing, missing_sample,
 * unexpected; `unexpectedValues`: value, rows, example.
 */
export const propertyProfileSql: Measure<[], { summary: string; unexpectedValues: string }> = {
  clickhouse: (t) => {
    const scope = `FROM ${t('events')} FINAL WHERE event = {event:String}
      AND ${inRange.clickhouse('event_time')}`;
    const missing = `(NOT JSONHas(properties, {property:String}) OR JSONType(properties, {property:String}) = 'Null')`;
    const unexpected = `({check:UInt8} = 1 AND NOT ${missing} AND JSONExtractRaw(properties, {property:String}) NOT IN {accepted:Array(String)})`;
    return {
      summary: `SELECT count() AS rows, countIf(${missing}) AS missing, groupArrayIf({sample:UInt32})(message_id, ${missing}) AS missing_sample, countIf(${unexpected}) AS unexpected ${scope}`,
      unexpectedValues: `SELECT JSONExtractRaw(properties, {property:String}) AS value, count() AS rows, min(message_id) AS example ${scope} AND ${unexpected}
         GROUP BY value ORDER BY rows DESC, value LIMIT {sample:UInt32}`,
    };
  },
  bigquery: (t) => {
    // JSON_QUERY gives the value as JSON text (`"x1"`, `1`, `null`), SQL NULL when absent.
    const values = `(SELECT message_id, value, missing, @check = 1 AND NOT missing AND value NOT IN UNNEST(@accepted) AS unexpected
      FROM (SELECT message_id, JSON_QUERY(properties, @path) AS value, IFNULL(JSON_QUERY(properties, @path), 'null') = 'null' AS missing
        FROM ${t('events')} WHERE event = @event AND ${inRange.bigquery('event_time')}))`;
    return {
      summary: `SELECT COUNT(*) AS \`rows\`, COUNTIF(missing) AS missing, ${bigQuerySample('missing', 'message_id')} AS missing_sample,
        COUNTIF(unexpected) AS unexpected FROM ${values}`,
      unexpectedValues: `SELECT value, COUNT(*) AS \`rows\`, MIN(message_id) AS example FROM ${values} WHERE unexpected
         GROUP BY value ORDER BY \`rows\` DESC, value LIMIT @sample`,
    };
  },
};

/** Sessions starting in the range and those carrying `flag` (or any flag when `anyFlag`), with `sample` of their ids: sessions, flagged, sample. */
export const flagShareSql: Measure<[anyFlag: boolean]> = {
  clickhouse: (t, anyFlag) => {
    const has = anyFlag ? 'notEmpty(flags)' : 'has(flags, {flag:String})';
    return `SELECT count() AS sessions, countIf(${has}) AS flagged, groupArrayIf({sample:UInt32})(session_id, ${has}) AS sample FROM ${t('sessions')} FINAL
       WHERE ${inRange.clickhouse('started_at')}`;
  },
  bigquery: (t, anyFlag) => {
    const has = anyFlag ? 'ARRAY_LENGTH(flags) > 0' : '@flag IN UNNEST(flags)';
    return `SELECT COUNT(*) AS sessions, COUNTIF(has) AS flagged, ${bigQuerySample('has', 'session_id')} AS sample
       FROM (SELECT session_id, ${has} AS has FROM ${t('sessions')} WHERE ${inRange.bigquery('started_at')})`;
  },
};

/**
 * Per UTC day of sessions starting in the range: declared event counts against events stored
 * with their ids between `mfrom` and `mto`, and `sample` mismatched ids: day, sessions, declared,
 * placed, mismatched, sample.
 */
export const sessionPlacementSql: Measure<[]> = {
  clickhouse: (t) => `SELECT toString(toDate(s.started_at)) AS day, count() AS sessions, sum(s.event_count) AS declared, sum(e.n) AS placed,
              countIf(s.event_count != e.n) AS mismatched, groupArrayIf({sample:UInt32})(s.session_id, s.event_count != e.n) AS sample
       FROM (SELECT session_id, started_at, event_count FROM ${t('sessions')} FINAL
             WHERE ${inRange.clickhouse('started_at')}) AS s
       LEFT JOIN (SELECT session_id, count() AS n FROM ${t('events')} FINAL
                  WHERE ${inRange.clickhouse('event_time', 'mfrom', 'mto')} GROUP BY session_id) AS e
       USING (session_id) GROUP BY day ORDER BY day`,
  // An outer join leaves NULL where ClickHouse leaves 0: a session without events placed 0.
  bigquery: (t) => `SELECT CAST(DATE(s.started_at) AS STRING) AS day, COUNT(*) AS sessions, SUM(s.event_count) AS declared, SUM(IFNULL(e.n, 0)) AS placed,
              COUNTIF(s.event_count != IFNULL(e.n, 0)) AS mismatched,
              ${bigQuerySample('s.event_count != IFNULL(e.n, 0)', 's.session_id')} AS sample
       FROM (SELECT session_id, started_at, event_count FROM ${t('sessions')}
             WHERE ${inRange.bigquery('started_at')}) AS s
       LEFT JOIN (SELECT session_id, COUNT(*) AS n FROM ${t('events')}
                  WHERE ${inRange.bigquery('event_time', 'mfrom', 'mto')} GROUP BY session_id) AS e
       ON s.session_id = e.session_id GROUP BY day ORDER BY day`,
};
