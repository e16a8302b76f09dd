/**
 * Sessionizing and placing events in ClickHouse SQL (issue 19, work point 4; ADR 0017). The JS
 * derivation (src/pipeline/sessionize.ts) is the reference: these statements reproduce its
 * cutting rules exactly, and test/sql-derivation.differential.test.ts holds them to it.
 *
 * Inputs: an event relation (SQL_DERIVATION_INPUT's columns, times as epoch ms) and the
 * stitching map (identity key → user), which JS computes (steward merges, identity conflicts)
 * and hands over as a table. Output: `derivation_placed`, one row per activity event with its
 * user, session id and its session's flags; sessions are grouped from it.
 *
 * Every value is a bound parameter: `{gap_ms:Int64}` (inactivity), `{max_ms:Int64}` (maximum
 * length), `{client:UInt8}` (1: client session ids group events), `{client_gap_ms:Int64}`,
 * `{split:UInt8}` (1: cut at midnight of `{tz:String}`), `{mode:String}` (`gap@1`, `client@1`).
 * Table names are checked identifiers (schema.ts quoteIdentifier), never user text.
 */

/** The event columns the SQL derivation reads: the accepted events as the raw store keeps them. */
export const SQL_DERIVATION_INPUT: ReadonlyArray<readonly [name: string, type: string]> = [
  ['identity_key', 'String'],
  ['message_id', 'String'],
  ['type', 'LowCardinality(String)'],
  ['event', 'String'],
  ['event_time', 'Int64'],
  ['anonymous_id', 'Nullable(String)'],
  ['app_version', 'Nullable(String)'],
  ['time_source', 'LowCardinality(String)'],
  ['skew_ms', 'Int64'],
  ['properties', 'String'],
  // pipeline.session_mode client only: the client's own session id (null without one).
  ['client_session_id', 'Nullable(String)'],
];

export const SQL_DERIVATION_TABLES = { input: 'derivation_input', identities: 'derivation_identities', placed: 'derivation_placed' } as const;

const PLACED_COLUMNS: ReadonlyArray<readonly [name: string, type: string]> = [
  ['user_id', 'String'],
  ['session_id', 'String'],
  ['flags', 'Array(LowCardinality(String))'],
  ['message_id', 'String'],
  ['event_time', 'Int64'],
  ['type', 'LowCardinality(String)'],
  ['event', 'String'],
  ['anonymous_id', 'Nullable(String)'],
  ['app_version', 'Nullable(String)'],
  ['time_source', 'LowCardinality(String)'],
  ['skew_ms', 'Int64'],
  ['properties', 'String'],
];

const columnList = (columns: ReadonlyArray<readonly [string, string]>) => columns.map(([name, type]) => `${name} ${type}`).join(', ');

/** The working tables (scratch: emptied before each derivation; one writer at a time holds the lease). */
export function sqlDerivationSchema(db: string): string[] {
  const { input, identities, placed } = SQL_DERIVATION_TABLES;
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${input} (${columnList(SQL_DERIVATION_INPUT)}) ENGINE = MergeTree ORDER BY (identity_key, event_time, message_id)`,
    `CREATE TABLE IF NOT EXISTS ${db}.${identities} (identity_key String, user_id String) ENGINE = MergeTree ORDER BY identity_key`,
    `CREATE TABLE IF NOT EXISTS ${db}.${placed} (${columnList(PLACED_COLUMNS)}) ENGINE = MergeTree ORDER BY (user_id, session_id, event_time, message_id)`,
  ];
}

export const truncateSqlDerivation = (db: string): string[] => Object.values(SQL_DERIVATION_TABLES).map((table) => `TRUNCATE TABLE IF EXISTS ${db}.${table}`);

/**
 * The accepted events where the raw store keeps them in the same engine (`stores.raw.engine:
 * chdb`, or a server's raw database): raw_events (clickhouse/raw/raw-schema.ts) as
 * SQL_DERIVATION_INPUT's columns, only the mapped identities. Gap mode: the client's session id
 * is not read from the raw line here (client mode loads its events instead).
 */
export function rawEventsSource(db: string, rawDb: string): string {
  return `(SELECT identity_key, message_id, type, event, toUnixTimestamp64Milli(event_time) AS event_time, anonymous_id, app_version, time_source, skew_ms, properties,
    CAST(NULL, 'Nullable(String)') AS client_session_id
  FROM ${rawDb}.raw_events WHERE identity_key IN (SELECT identity_key FROM ${db}.${SQL_DERIVATION_TABLES.identities}))`;
}

/** The calendar day of an epoch-ms expression in the configured zone (pipeline.split_at_midnight). */
const dayOf = (ms: string) => `toDate(fromUnixTimestamp64Milli(${ms}), {tz:String})`;

const CUTS_TYPE = `'Array(Tuple(Int64, String, UInt8))'`;

/**
 * Places every activity event of the mapped identities in its session (INSERT … SELECT into
 * `derivation_placed`), with sessionize.ts's rules:
 * 1. partition by user (and, in client mode, by the client's session id: events without one are
 *    a partition of their own), order by (event time, message id);
 * 2. a gap over the inactivity timeout (client mode: client_session_max_gap for events with an
 *    id) starts a segment — a window function;
 * 3. within a segment, the maximum length (and midnight, when asked) cuts sequentially: a cut
 *    restarts the clock, so it is a fold over the segment's events, run only for the segments
 *    long enough (or spanning a day) to be cut; a session ended by the maximum length is flagged
 *    `overlong_session`, a client session id's later segment `client_session_reused`;
 * 4. the session id is sha256(user ‖ NUL ‖ first message id), first 32 hex digits.
 * `source` is the events relation (a table of SQL_DERIVATION_INPUT's columns).
 */
export function placeEventsSql(db: string, source: string): string {
  const { identities, placed } = SQL_DERIVATION_TABLES;
  const window = 'PARTITION BY user_id, has_id, part ORDER BY t, message_id';
  const cutRule = `(acc, x) -> if(x.1 - acc.1 >= {max_ms:Int64}, (x.1, arrayPushBack(acc.2, (x.1, x.2, toUInt8(1)))),
        if({split:UInt8} = 1 AND ${dayOf('x.1')} != ${dayOf('acc.1')}, (x.1, arrayPushBack(acc.2, (x.1, x.2, toUInt8(0)))), acc))`;
  return `INSERT INTO ${db}.${placed} (${PLACED_COLUMNS.map(([name]) => name).join(', ')})
WITH
  activity AS (
    SELECT m.user_id AS user_id, e.message_id AS message_id, e.event_time AS t, e.type AS type, e.event AS event,
      e.anonymous_id AS anonymous_id, e.app_version AS app_version, e.time_source AS time_source, e.skew_ms AS skew_ms, e.properties AS properties,
      toUInt8({client:UInt8} = 1 AND e.client_session_id IS NOT NULL) AS has_id, if(has_id = 1, assumeNotNull(e.client_session_id), '') AS part
    FROM ${source} AS e INNER JOIN ${db}.${identities} AS m ON e.identity_key = m.identity_key
    WHERE e.type IN ('track', 'page', 'screen')
  ),
  gaps AS (
    SELECT *, toUInt32(row_number() OVER w = 1 OR t - lagInFrame(t) OVER w > if(has_id = 1, {client_gap_ms:Int64}, {gap_ms:Int64})) AS new_segment
    FROM activity WINDOW w AS (${window} ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
  ),
  segmented AS (
    SELECT *, sum(new_segment) OVER (${window} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS segment FROM gaps
  ),
  segments AS (
    SELECT user_id, has_id, part, segment, min(t) AS first_t, max(t) AS last_t, argMin(message_id, (t, message_id)) AS first_message_id
    FROM segmented GROUP BY user_id, has_id, part, segment
  ),
  long_segments AS (
    SELECT s.user_id AS user_id, s.has_id AS has_id, s.part AS part, s.segment AS segment,
      arrayFold(${cutRule}, arraySort(groupArray((e.t, e.message_id))), (any(s.first_t), CAST([], ${CUTS_TYPE}))).2 AS cuts
    FROM segmented AS e INNER JOIN (
      SELECT * FROM segments WHERE last_t - first_t >= {max_ms:Int64} OR ({split:UInt8} = 1 AND ${dayOf('first_t')} != ${dayOf('last_t')})
    ) AS s ON e.user_id = s.user_id AND e.has_id = s.has_id AND e.part = s.part AND e.segment = s.segment
    GROUP BY s.user_id, s.has_id, s.part, s.segment
  ),
  cut AS (
    SELECT s.user_id AS user_id, s.has_id AS has_id, s.part AS part, s.segment AS segment, s.first_message_id AS first_message_id,
      l.cuts AS cuts
    FROM segments AS s LEFT JOIN long_segments AS l ON s.user_id = l.user_id AND s.has_id = l.has_id AND s.part = l.part AND s.segment = l.segment
  )
SELECT user_id,
  lower(substring(hex(SHA256(concat(user_id, char(0), if(k = 0, segment_first, cuts[k].2)))), 1, 32)) AS session_id,
  arrayFilter(f -> f != '', [if(has_id = 1 AND segment > 1 AND k = 0, 'client_session_reused', ''),
    if(k < length(cuts) AND cuts[k + 1].3 = 1, 'overlong_session', '')]) AS flags,
  message_id, t, type, event, anonymous_id, app_version, time_source, skew_ms, properties
FROM (
  SELECT e.user_id AS user_id, e.has_id AS has_id, e.segment AS segment, e.message_id AS message_id, e.t AS t, e.type AS type, e.event AS event,
    e.anonymous_id AS anonymous_id, e.app_version AS app_version, e.time_source AS time_source, e.skew_ms AS skew_ms, e.properties AS properties,
    c.first_message_id AS segment_first, c.cuts AS cuts, arrayCount(x -> x.1 <= e.t, c.cuts) AS k
  FROM segmented AS e
  INNER JOIN cut AS c ON e.user_id = c.user_id AND e.has_id = c.has_id AND e.part = c.part AND e.segment = c.segment
)`;
}

/** Only the users `{users:Array(String)}` when `some`. */
const ofUsers = (some: boolean) => (some ? 'WHERE user_id IN {users:Array(String)}' : '');

/** The sessions of the placed events, as the analytics `sessions` rows (times as epoch ms, no labels yet). */
export function placedSessionsSql(db: string, some = false): string {
  return `SELECT session_id, user_id, arraySort(groupUniqArray(anonymous_id)) AS anonymous_ids,
  min(event_time) AS started_at, max(event_time) AS ended_at, count() AS event_count,
  argMin(event, (event_time, message_id)) AS first_event, argMax(event, (event_time, message_id)) AS last_event,
  min((event_time, message_id)).2 AS first_message_id, arraySort(groupUniqArray(app_version)) AS app_versions,
  any(flags) AS flags, CAST([], 'Array(String)') AS labels, {mode:String} AS session_mode
FROM ${db}.${SQL_DERIVATION_TABLES.placed} ${ofUsers(some)} GROUP BY user_id, session_id ORDER BY user_id, started_at, session_id`;
}

/** The placed events as the analytics `events` rows (a missing anonymous id or app version is ''), in (user, time, message id) order. */
export function placedEventsSql(db: string, some = false): string {
  return `SELECT user_id, session_id, message_id, event_time, type, event, ifNull(anonymous_id, '') AS anonymous_id, ifNull(app_version, '') AS app_version, time_source, skew_ms, properties
FROM ${db}.${SQL_DERIVATION_TABLES.placed} ${ofUsers(some)} ORDER BY user_id, event_time, message_id`;
}

/** (message id, session id) of the placed events of `{users:Array(String)}`. */
export function placedSessionIdsSql(db: string): string {
  return `SELECT message_id, session_id FROM ${db}.${SQL_DERIVATION_TABLES.placed} ${ofUsers(true)}`;
}

/**
 * The placed events (of `{users:Array(String)}` when `some`) into the analytics `events` table at
 * `{version:UInt64}`, without passing through JS (the analytics store keeps a missing anonymous
 * id or app version as '').
 */
export function insertPlacedEventsSql(db: string, some = false): string {
  return `INSERT INTO ${db}.events (user_id, event_time, message_id, session_id, anonymous_id, type, event, app_version, time_source, skew_ms, properties, version, is_deleted)
SELECT user_id, fromUnixTimestamp64Milli(event_time), message_id, session_id, ifNull(anonymous_id, ''), type, event, ifNull(app_version, ''), time_source, skew_ms, properties,
  {version:UInt64}, 0
FROM ${db}.${SQL_DERIVATION_TABLES.placed} ${ofUsers(some)}`;
}
