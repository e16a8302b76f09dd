/**
 * Funnel outcomes in ClickHouse SQL (issue 19, work point 4; ADR 0017 "Funnels in SQL"), over the
 * placed events of the SQL derivation (`derivation_placed`, sql-derivation.ts). The JS funnels
 * (src/journeys/funnels.ts) are the reference: test/sql-derivation.differential.test.ts and
 * test/sql-funnels.differential.test.ts hold these statements to them.
 *
 * funnels.ts's semantics, per subject (each session; and each user, over all of their events):
 * events in (event time, message id) order; every event matching step 1 starts an attempt that
 * takes, for each later step, the first event after the previous step's that matches it (the
 * greedy jump), and stops at the first step whose match is missing or more than the window after
 * the attempt's first event. The outcome is the first attempt (in event order) reaching the most
 * steps: its start, steps reached and message ids; without a step-1 event, 0 steps, started at
 * the subject's first event. `windowFunnel` is not used: it returns only the level, orders equal
 * timestamps by condition, not by message id, and names neither the attempt nor its events.
 *
 * One statement per funnel (foldStatement), every value a bound parameter, table names checked
 * identifiers: each subject's events matching a step, as one sorted array, folded once.
 */
import type { FunnelDefinition } from '../../../journeys/funnels.js';
import type { EventMatcher, PropertyCondition } from '../../../journeys/rules.js';
import { SQL_DERIVATION_TABLES } from './sql-derivation.js';

export const SQL_FUNNEL_TABLES = { outcomes: 'derivation_funnels' } as const;

/** One statement and its bound parameters. */
export interface SqlStatement {
  query: string;
  params: Record<string, unknown>;
}

/** The working tables (scratch: emptied by `truncateSqlFunnels` before each round's funnels). */
export function sqlFunnelsSchema(db: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${SQL_FUNNEL_TABLES.outcomes} (user_id String, scope LowCardinality(String), subject_id String, funnel_index UInt16, funnel String,
      started_at Int64, steps_reached UInt16, total_steps UInt16, evidence Array(String)) ENGINE = MergeTree ORDER BY (user_id, scope, subject_id, funnel_index)`,
  ];
}

export const truncateSqlFunnels = (db: string): string[] => Object.values(SQL_FUNNEL_TABLES).map((table) => `TRUNCATE TABLE IF EXISTS ${db}.${table}`);

/** Binds values under generated names (`p0`, `p1`, …): the SQL never carries a value from the config. */
class Binder {
  readonly params: Record<string, unknown> = {};
  private next = 0;
  bind(value: unknown, type: string): string {
    const name = `p${this.next}`;
    this.next += 1;
    this.params[name] = value;
    return `{${name}:${type}}`;
  }
}

/**
 * `event.properties[name] === value` of rules.ts for one scalar, or null for a value SQL does not
 * hold to it (an object or array in an `in` list never equals a parsed property: false).
 */
function equalsSql(binder: Binder, key: string, value: unknown): string {
  const type = `JSONType(properties, ${key})`;
  if (typeof value === 'string') return `(${type} = 'String' AND JSONExtractString(properties, ${key}) = ${binder.bind(value, 'String')})`;
  if (typeof value === 'boolean') return `(${type} = 'Bool' AND JSONExtractBool(properties, ${key}) = ${binder.bind(value ? 1 : 0, 'UInt8')})`;
  if (typeof value === 'number') {
    // Stored properties are JSON.stringify's: never NaN or ±Infinity, which equal no property then.
    if (!Number.isFinite(value)) return '0';
    return `(${type} IN ('Int64', 'UInt64', 'Double') AND JSONExtractFloat(properties, ${key}) = ${binder.bind(value, 'Float64')})`;
  }
  if (value === null) return `(JSONHas(properties, ${key}) AND ${type} = 'Null')`;
  return '0';
}

/** rules.ts `holds` for one property; null where its JS meaning is not a JSON key look-up (names Object.prototype has). */
function conditionSql(binder: Binder, name: string, condition: PropertyCondition): string | null {
  if (name in Object.prototype) return null;
  const key = binder.bind(name, 'String');
  if (condition !== null && typeof condition === 'object') {
    if ('in' in condition) {
      const each = condition.in.map((candidate) => equalsSql(binder, key, candidate));
      return each.length === 0 ? '0' : `(${each.join(' OR ')})`;
    }
    // An array (or an object without a boolean `exists`) holds for no value in rules.ts.
    if (typeof condition.exists !== 'boolean') return '0';
    const present = `(JSONHas(properties, ${key}) AND JSONType(properties, ${key}) != 'Null')`;
    return condition.exists ? present : `NOT ${present}`;
  }
  return equalsSql(binder, key, condition);
}

/** rules.ts `matches` for a list of matchers (any of them), or null when one cannot be compiled. */
function matchersSql(binder: Binder, matchers: readonly EventMatcher[]): string | null {
  const any: string[] = [];
  for (const matcher of matchers) {
    const all = [`has(${binder.bind(matcher.events, 'Array(String)')}, event)`];
    for (const [name, condition] of Object.entries(matcher.where)) {
      const sql = conditionSql(binder, name, condition);
      if (sql === null) return null;
      all.push(sql);
    }
    any.push(`(${all.join(' AND ')})`);
  }
  return any.length === 0 ? '0' : `(${any.join(' OR ')})`;
}

/** Names of the events a funnel's steps match, and of those whose matchers read properties. */
function eventNames(funnel: FunnelDefinition): { all: string[]; withProperties: string[] } {
  const all = new Set<string>();
  const withProperties = new Set<string>();
  for (const matcher of funnel.steps.flat()) {
    for (const name of matcher.events) {
      all.add(name);
      if (Object.keys(matcher.where).length > 0) withProperties.add(name);
    }
  }
  return { all: [...all].sort(), withProperties: [...withProperties].sort() };
}

/** The most steps a funnel may have in SQL (one self-join per step; `total_steps` is a UInt8 in the analytics table). */
export const MAX_SQL_FUNNEL_STEPS = 32;

/**
 * The statements computing every funnel's outcomes (session and user scope) from the placed
 * events, in order; null when a funnel cannot be held to the JS one in SQL (the round computes
 * funnels in JS then): a matcher naming a property Object.prototype has, or more than
 * MAX_SQL_FUNNEL_STEPS steps.
 */
export function funnelStatements(db: string, funnels: readonly FunnelDefinition[]): SqlStatement[] | null {
  const statements: SqlStatement[] = [];
  for (const [index, funnel] of funnels.entries()) {
    if (funnel.steps.length < 2 || funnel.steps.length > MAX_SQL_FUNNEL_STEPS) return null;
    const binder = new Binder();
    const steps: string[] = [];
    for (const step of funnel.steps) {
      const sql = matchersSql(binder, step);
      if (sql === null) return null;
      steps.push(sql);
    }
    statements.push(foldStatement(db, index, funnel, steps, binder));
  }
  return statements;
}

/**
 * One statement per funnel, one pass over each subject's matching events (arrayFold, state O(steps)):
 * live attempts waiting at the same step advance together on the next event matching it, and
 * later attempts never stand at a higher step than earlier ones, so the attempts waiting at step k
 * are one range of step-1 ordinals [lo_k, hi_k]. When an event matches step k + 1, the range's
 * attempts started within the window before it advance, the earlier ones stop at k (the first of
 * them a candidate, as is the first of a range reaching the last step). `f` (a RANGE window) is
 * how many step-1 events are too old for the event's time, so the advancing part is [f + 1, hi_k].
 * The best candidate is the highest step, then the earliest start; its events are the greedy
 * chain from its start, one look-up per step.
 */
function foldStatement(db: string, index: number, funnel: FunnelDefinition, steps: readonly string[], binder: Binder): SqlStatement {
  const names = binder.bind(eventNames(funnel).all, 'Array(String)');
  const total = steps.length;
  const mask = steps.map((sql, k) => `bitShiftLeft(toUInt64(${sql}), ${k})`).join(' + ');
  const lo = (k: number) => `acc.${2 * k - 1}`;
  const hi = (k: number) => `acc.${2 * k}`;
  const bestLevel = `acc.${2 * total - 1}`;
  const bestStart = `acc.${2 * total}`;
  const step = (k: number) => `bitTest(x.3, ${k})`; // x matches step k + 1 (0-based bit k)
  const waiting = (k: number) => `${lo(k)} != 0`;
  const moves = (k: number) => `(${waiting(k)} AND ${step(k)})`;
  const advanceFrom = (k: number) => `greatest(${lo(k)}, x.4 + 1)`;
  const advances = (k: number) => `(${moves(k)} AND ${advanceFrom(k)} <= ${hi(k)})`;
  const stops = (k: number) => `(${moves(k)} AND ${lo(k)} <= x.4)`;
  const groups: string[] = [];
  for (let k = 1; k < total; k += 1) {
    const keep = `(${waiting(k)} AND NOT ${step(k)})`;
    const incoming = k === 1 ? step(0) : advances(k - 1);
    const incomingLo = k === 1 ? 'x.5' : advanceFrom(k - 1);
    const incomingHi = k === 1 ? 'x.5' : hi(k - 1);
    groups.push(`if(${keep}, ${lo(k)}, if(${incoming}, ${incomingLo}, 0))`, `if(${incoming}, ${incomingHi}, if(${keep}, ${hi(k)}, 0))`);
  }
  // This event's best candidate: the last step reached, else the highest step at which attempts stop.
  let candidateLevel = '0';
  let candidateStart = '0';
  for (let k = 1; k < total; k += 1) {
    candidateLevel = `if(${stops(k)}, ${k}, ${candidateLevel})`;
    candidateStart = `if(${stops(k)}, ${lo(k)}, ${candidateStart})`;
  }
  candidateLevel = `if(${advances(total - 1)}, ${total}, ${candidateLevel})`;
  candidateStart = `if(${advances(total - 1)}, ${advanceFrom(total - 1)}, ${candidateStart})`;
  const better = (level: string, start: string) => `(${level} > ${bestLevel} OR (${level} = ${bestLevel} AND ${level} > 0 AND ${start} < ${bestStart}))`;
  const cast = (list: readonly string[]) => `tuple(${list.map((e) => `toUInt32(${e})`).join(', ')})`;
  // The candidate expressions appear more than once: ClickHouse computes an identical subexpression once.
  const transition = `(acc, x) -> ${cast([
    ...groups,
    `if(${better(candidateLevel, candidateStart)}, ${candidateLevel}, ${bestLevel})`,
    `if(${better(candidateLevel, candidateStart)}, ${candidateStart}, ${bestStart})`,
  ])}`;
  // At the end every range still waiting stops where it stands: the highest one is the last candidate.
  let endLevel = '0';
  let endStart = '0';
  for (let k = 1; k < total; k += 1) {
    endLevel = `if(${lo(k)} != 0, ${k}, ${endLevel})`;
    endStart = `if(${lo(k)} != 0, ${lo(k)}, ${endStart})`;
  }
  const finalLevel = `if(${better(endLevel, endStart)}, ${endLevel}, ${bestLevel})`.replaceAll('acc.', 'st.');
  const finalStart = `if(${better(endLevel, endStart)}, ${endStart}, ${bestStart})`.replaceAll('acc.', 'st.');
  const init = cast(Array.from({ length: 2 * total }, () => '0'));
  // The best attempt's events: the greedy chain from its start, at_j the position of step j + 1.
  const chain = [
    'arrayFirstIndex(x -> x.5 = start AND bitTest(x.3, 0), ev) AS at0',
    ...Array.from({ length: total - 1 }, (_, i) => `arrayFirst(i -> i > at${i}, arrayFilter((i, x) -> bitTest(x.3, ${i + 1}), arrayEnumerate(ev), ev)) AS at${i + 1}`),
  ].join(',\n      ');
  const chainIds = Array.from({ length: total }, (_, j) => `ev[at${j}].2`).join(', ');
  const window = binder.bind(funnel.windowMs + 1, 'Int64');
  const funnelIndex = binder.bind(index, 'UInt16');
  const placed = `${db}.${SQL_DERIVATION_TABLES.placed}`;
  const query = `INSERT INTO ${db}.${SQL_FUNNEL_TABLES.outcomes} (user_id, scope, subject_id, funnel_index, funnel, started_at, steps_reached, total_steps, evidence)
WITH
  matched AS (
    SELECT user_id, scope, subject_id, t, message_id, mask,
      toUInt32(countIf(bitTest(mask, 0)) OVER (PARTITION BY scope, subject_id ORDER BY t, message_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS ord,
      toUInt32(countIf(bitTest(mask, 0)) OVER (PARTITION BY scope, subject_id ORDER BY t RANGE BETWEEN UNBOUNDED PRECEDING AND ${window} PRECEDING)) AS f
    FROM (
      SELECT user_id, event_time AS t, message_id, session_id, ${mask} AS mask
      FROM ${placed} WHERE has(${names}, event)
    )
    ARRAY JOIN ['session', 'user'] AS scope, [session_id, user_id] AS subject_id
    WHERE mask != 0
  ),
  folded AS (
    SELECT scope, subject_id, arraySort(x -> (x.1, x.2), groupArray((t, message_id, mask, f, ord))) AS ev,
      arrayFold(${transition}, ev, ${init}) AS st
    FROM matched GROUP BY scope, subject_id
  ),
  best AS (
    SELECT scope, subject_id, ${finalLevel} AS level, ${finalStart} AS start,
      ${chain}, ev[at0].1 AS started_at, arraySlice([${chainIds}], 1, level) AS evidence
    FROM folded
  ),
  subjects AS (
    SELECT user_id, 'session' AS scope, session_id AS subject_id, min(event_time) AS first_t FROM ${placed} GROUP BY user_id, session_id
    UNION ALL
    SELECT user_id, 'user' AS scope, user_id AS subject_id, min(event_time) AS first_t FROM ${placed} GROUP BY user_id
  )
SELECT s.user_id, s.scope, s.subject_id, ${funnelIndex}, ${binder.bind(funnel.name, 'String')},
  if(b.level = 0, s.first_t, b.started_at), b.level, ${binder.bind(total, 'UInt16')}, b.evidence
FROM subjects AS s LEFT JOIN best AS b ON b.scope = s.scope AND b.subject_id = s.subject_id
SETTINGS join_use_nulls = 0`;
  return { query, params: binder.params };
}

/**
 * How many placed events a funnel reads properties of that ClickHouse cannot parse (e.g. a lone
 * UTF-16 surrogate escape, which JSON.parse accepts): where any exists, the round's funnels run in JS.
 */
export function unreadablePropertiesStatement(db: string, funnels: readonly FunnelDefinition[]): SqlStatement {
  const names = [...new Set(funnels.flatMap((funnel) => eventNames(funnel).withProperties))].sort();
  return {
    query: `SELECT count() AS n FROM ${db}.${SQL_DERIVATION_TABLES.placed} WHERE has({names:Array(String)}, event) AND NOT isValidJSON(properties)`,
    params: { names },
  };
}

/** The outcomes of these users (`{users:Array(String)}`), by user, scope, subject and funnel. */
export function funnelOutcomesSql(db: string): string {
  return `SELECT user_id, scope, subject_id, funnel_index, funnel, started_at, steps_reached, total_steps, evidence
FROM ${db}.${SQL_FUNNEL_TABLES.outcomes} WHERE user_id IN {users:Array(String)} ORDER BY user_id, scope, subject_id, funnel_index`;
}
