/**
 * The SQL of the check measures (`journeyctl check`), over the analytics database `db` (quoted).
 * Every value is a bound parameter; what the parameters mean for a check lives in src/checks.
 * Ranges bind `{from:Int64}` and `{to:Int64}` (epoch ms, to exclusive).
 */

const inRange = (column: string, from = 'from', to = 'to') => `${column} >= fromUnixTimestamp64Milli({${from}:Int64}) AND ${column} < fromUnixTimestamp64Milli({${to}:Int64})`;

/** Rows per UTC day of the time column of `events` (event time) or `sessions` (start). */
export function dailyCountsSql(db: string, table: 'events' | 'sessions'): string {
  const column = table === 'events' ? 'event_time' : 'started_at';
  return `SELECT toString(toDate(${column})) AS day, count() AS n FROM ${db}.${table} FINAL
       WHERE ${inRange(column)} GROUP BY day ORDER BY day`;
}

/** `{to:Int64}`: how many events there are before it, and the newest one's time. */
export const newestEventTimeSql = (db: string) =>
  `SELECT count() AS n, toUnixTimestamp64Milli(max(event_time)) AS newest FROM ${db}.events FINAL WHERE event_time < fromUnixTimestamp64Milli({to:Int64})`;

/**
 * One property of one event: `{event:String}`, `{property:String}`, `{accepted:Array(String)}`
 * (JSON texts), `{check:UInt8}` (1: count values outside accepted), `{sample:UInt32}`.
 * Missing = absent or JSON null.
 */
export function propertyProfileSql(db: string): { summary: string; unexpectedValues: string } {
  const scope = `FROM ${db}.events FINAL WHERE event = {event:String}
      AND ${inRange('event_time')}`;
  const missing = `(NOT JSONHas(properties, {property:String}) OR JSONType(properties, {property:String}) = 'Null')`;
  const unexpected = `({check:UInt8} = 1 AND NOT ${missing} AND JSONExtractRaw(properties, {property:String}) NOT IN {accepted:Array(String)})`;
  return {
    summary: `SELECT count() AS rows, countIf(${missing}) AS missing, groupArrayIf({sample:UInt32})(message_id, ${missing}) AS missing_sample, countIf(${unexpected}) AS unexpected ${scope}`,
    unexpectedValues: `SELECT JSONExtractRaw(properties, {property:String}) AS value, count() AS rows, min(message_id) AS example ${scope} AND ${unexpected}
         GROUP BY value ORDER BY rows DESC, value LIMIT {sample:UInt32}`,
  };
}

/** Sessions starting in the range and those carrying `{flag:String}` (or any flag when `anyFlag`), with `{sample:UInt32}` of their ids. */
export function flagShareSql(db: string, anyFlag: boolean): string {
  const has = anyFlag ? 'notEmpty(flags)' : 'has(flags, {flag:String})';
  return `SELECT count() AS sessions, countIf(${has}) AS flagged, groupArrayIf({sample:UInt32})(session_id, ${has}) AS sample FROM ${db}.sessions FINAL
       WHERE ${inRange('started_at')}`;
}

/**
 * Per UTC day of sessions starting in the range: declared event counts against events stored
 * with their ids between `{mfrom:Int64}` and `{mto:Int64}`, and `{sample:UInt32}` mismatched ids.
 */
export const sessionPlacementSql = (db: string) =>
  `SELECT toString(toDate(s.started_at)) AS day, count() AS sessions, sum(s.event_count) AS declared, sum(e.n) AS placed,
              countIf(s.event_count != e.n) AS mismatched, groupArrayIf({sample:UInt32})(s.session_id, s.event_count != e.n) AS sample
       FROM (SELECT session_id, started_at, event_count FROM ${db}.sessions FINAL
             WHERE ${inRange('started_at')}) AS s
       LEFT JOIN (SELECT session_id, count() AS n FROM ${db}.events FINAL
                  WHERE ${inRange('event_time', 'mfrom', 'mto')} GROUP BY session_id) AS e
       USING (session_id) GROUP BY day ORDER BY day`;
