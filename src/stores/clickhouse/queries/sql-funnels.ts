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
 * Two statements per funnel, every value a bound parameter, table names checked identifiers:
 * 1. `derivation_funnel_steps`: the subject's events matching any step, numbered in order, with
 *    `next[k]` = the position of the first later event matching step k + 1 (a window function
 *    over the reversed order: its frame only grows, so it is linear);
 * 2. `derivation_funnels`: each step-1 event's attempt, one self-join per further step along
 *    `next`, its level by the window, and per subject the first attempt with the highest level.
 * A single `arrayFold` per subject (state: the range of attempts waiting at each step) was
 * faster on short histories but costs time quadratic in a subject's length in ClickHouse 26.7:
 * 15.4 CPU-s for one funnel on the generator's 1M against 1.3 here (ADR 0017).
 */
import type { FunnelDefinition } from '../../../journeys/funnels.js';
import type { EventMatcher, PropertyCondition } from '../../../journeys/rules.js';
import { SQL_DERIVATION_TABLES } from './sql-derivation.js';

export const SQL_FUNNEL_TABLES = { steps: 'derivation_funnel_steps', outcomes: 'derivation_funnels' } as const;

/** One statement and its bound parameters. */
export interface SqlStatement {
  query: string;
  params: Record<string, unknown>;
}

/** The working tables (scratch: emptied by `truncateSqlFunnels` before each round's funnels). */
export function sqlFunnelsSchema(db: string): string[] {
  const { steps, outcomes } = SQL_FUNNEL_TABLES;
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${steps} (funnel_index UInt16, user_id String, scope LowCardinality(String), subject_id String, pos UInt32, t Int64,
      message_id String, is_start UInt8, next Array(UInt32)) ENGINE = MergeTree ORDER BY (funnel_index, scope, subject_id, pos)`,
    `CREATE TABLE IF NOT EXISTS ${db}.${outcomes} (user_id String, scope LowCardinality(String), subject_id String, funnel_index UInt16, funnel String,
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
    statements.push(stepsStatement(db, index, funnel, steps, binder), outcomesStatement(db, index, funnel));
  }
  return statements;
}

/** Statement 1: the matching events of each subject, numbered, with the next match of every later step. */
function stepsStatement(db: string, index: number, funnel: FunnelDefinition, steps: readonly string[], binder: Binder): SqlStatement {
  const names = binder.bind(eventNames(funnel).all, 'Array(String)');
  const funnelIndex = binder.bind(index, 'UInt16');
  const matched = steps.map((sql, k) => `toUInt8(${sql}) AS s${k}`).join(', ');
  const anyStep = steps.map((_, k) => `s${k} = 1`).join(' OR ');
  const stepColumns = steps.map((_, k) => `s${k}`).join(', ');
  // next[k]: the first later position matching step k + 1 (k ≥ 1); 0 when there is none.
  const next = steps
    .slice(1)
    .map((_, k) => `toUInt32(minIf(pos, s${k + 1} = 1) OVER later)`)
    .join(', ');
  const query = `INSERT INTO ${db}.${SQL_FUNNEL_TABLES.steps} (funnel_index, user_id, scope, subject_id, pos, t, message_id, is_start, next)
SELECT ${funnelIndex}, user_id, scope, subject_id, pos, t, message_id, s0, [${next}]
FROM (
  SELECT user_id, scope, subject_id, t, message_id, ${stepColumns}, toUInt32(row_number() OVER (PARTITION BY scope, subject_id ORDER BY t, message_id)) AS pos
  FROM (
    SELECT user_id, event_time AS t, message_id, session_id, ${matched}
    FROM ${db}.${SQL_DERIVATION_TABLES.placed} WHERE has(${names}, event)
  )
  ARRAY JOIN ['session', 'user'] AS scope, [session_id, user_id] AS subject_id
  WHERE ${anyStep}
)
WINDOW later AS (PARTITION BY scope, subject_id ORDER BY pos DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)`;
  return { query, params: binder.params };
}

/** Statement 2: each attempt along `next`, the first best per subject, and every subject's outcome. */
function outcomesStatement(db: string, index: number, funnel: FunnelDefinition): SqlStatement {
  const binder = new Binder();
  const funnelIndex = binder.bind(index, 'UInt16');
  const window = binder.bind(funnel.windowMs, 'Int64');
  const total = funnel.steps.length;
  const later = Array.from({ length: total - 1 }, (_, i) => i + 1);
  const joins = later
    .map(
      (k) => `LEFT JOIN (SELECT * FROM ${db}.${SQL_FUNNEL_TABLES.steps} WHERE funnel_index = ${funnelIndex}) AS a${k}
      ON a${k}.scope = a0.scope AND a${k}.subject_id = a0.subject_id AND a${k}.pos = a${k - 1}.next[${k}]`,
    )
    .join('\n    ');
  // Step k + 1 is reached when step k's jump found an event within the window of the first.
  let level = String(total);
  for (let k = total - 1; k >= 1; k -= 1) level = `if(a${k - 1}.next[${k}] != 0 AND a${k}.t - a0.t <= ${window}, ${level}, ${k})`;
  const ids = Array.from({ length: total }, (_, k) => `a${k}.message_id`).join(', ');
  const placed = `${db}.${SQL_DERIVATION_TABLES.placed}`;
  const query = `INSERT INTO ${db}.${SQL_FUNNEL_TABLES.outcomes} (user_id, scope, subject_id, funnel_index, funnel, started_at, steps_reached, total_steps, evidence)
WITH
  attempts AS (
    SELECT a0.scope AS scope, a0.subject_id AS subject_id, a0.pos AS start, a0.t AS t0, ${level} AS level, arraySlice([${ids}], 1, level) AS ids
    FROM (SELECT * FROM ${db}.${SQL_FUNNEL_TABLES.steps} WHERE funnel_index = ${funnelIndex} AND is_start = 1) AS a0
    ${joins}
  ),
  best AS (
    SELECT scope, subject_id, argMax((t0, level, ids), (level, -toInt64(start))) AS attempt FROM attempts GROUP BY scope, subject_id
  ),
  subjects AS (
    SELECT user_id, 'session' AS scope, session_id AS subject_id, min(event_time) AS first_t FROM ${placed} GROUP BY user_id, session_id
    UNION ALL
    SELECT user_id, 'user' AS scope, user_id AS subject_id, min(event_time) AS first_t FROM ${placed} GROUP BY user_id
  )
SELECT s.user_id, s.scope, s.subject_id, ${funnelIndex}, ${binder.bind(funnel.name, 'String')},
  if(b.attempt.2 = 0, s.first_t, b.attempt.1), b.attempt.2, ${binder.bind(total, 'UInt16')}, b.attempt.3
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
