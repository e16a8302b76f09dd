// Funnels in ClickHouse SQL against their oracle, src/journeys/funnels.ts (ADR 0017, "Funnels in
// SQL"): on events made to stress the funnel rules — ties in time, repeated steps, steps out of
// order, window edges, steps across sessions, property conditions of every kind — the outcomes
// computed by SqlDerivation.placeFunnels must equal funnelOutcome's on the same placed sessions,
// field for field. test/sql-derivation.differential.test.ts holds whole `run`s to the same.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JourneyConfig, resolveConfig } from '../src/config/config.js';
import type { FunnelOutcome } from '../src/domain/journey.js';
import type { Session, SessionEvent } from '../src/domain/session.js';
import { type FunnelDefinition, funnelOutcome } from '../src/journeys/funnels.js';
import { toRuleEvents } from '../src/journeys/rules.js';
import { sqlSessionRules } from '../src/pipeline/sql-session-rules.js';
import { REGISTERED_ENGINE_NAMES } from '../src/stores/engine-names.js';
import { openStores } from '../src/stores/open-stores.js';
import { type SqlDerivation, type SqlDerivationEvent, sqlDerivationOf } from '../src/stores/ports/sql-derivation.js';
import { seededRandom } from './helpers/journeys.js';

const LEASE = { command: 'sql-funnels test', waitMs: 0, log: () => {}, create: true };
const MINUTE = 60_000;
const on = (event: string | string[], where: FunnelDefinition['steps'][number][number]['where'] = {}) => ({ events: Array.isArray(event) ? event : [event], where });

/** Funnels over the events below: repeated and overlapping steps, windows at the events' spacing, every kind of property condition. */
const FUNNELS: FunnelDefinition[] = [
  { name: 'abc', windowMs: 10 * MINUTE, steps: [[on('a')], [on('b')], [on('c')]] },
  { name: 'aaa', windowMs: 5 * MINUTE, steps: [[on('a')], [on('a')], [on('a')]] },
  { name: 'ties', windowMs: 0, steps: [[on('b')], [on(['a', 'b'])], [on('c')]] },
  { name: 'either', windowMs: 30 * MINUTE, steps: [[on('a', { p: 1 }), on('d', { q: 'x' })], [on(['b', 'c'])], [on('d', { p: { in: ['1', true, null] } })], [on('a')]] },
  { name: 'exists', windowMs: 60 * MINUTE, steps: [[on('c', { p: { exists: true } })], [on('b', { p: { exists: false } })], [on('a', { p: null })]] },
  { name: 'typed', windowMs: 24 * 60 * MINUTE, steps: [[on('a', { p: '1' })], [on('b', { p: true })], [on('c', { p: 2.5 })], [on('d', { q: { in: [] } })]] },
  { name: 'long', windowMs: 90 * MINUTE, steps: [[on('a')], [on('b')], [on('c')], [on('d')], [on('a')], [on('b')], [on('x')]] },
];

const T0 = Date.UTC(2026, 0, 1);

/** A track event of `identityKey`, `at` ms after T0. */
function trackEvent(identityKey: string, messageId: string, event: string, at: number, properties: Record<string, unknown> = {}): SqlDerivationEvent {
  return {
    identityKey,
    messageId,
    type: 'track',
    event,
    eventTime: T0 + at,
    anonymousId: null,
    appVersion: null,
    timeSource: 'timestamp',
    skewMs: 0,
    propertiesJson: JSON.stringify(properties),
    clientSessionId: null,
  };
}

const VALUES: unknown[] = [1, '1', true, false, null, 2.5, 'x', undefined, [1], { p: 1 }];

/** Users with sessions of a few events on a minute grid (many ties), some sessions 20–40 min apart so funnels cross them. */
function stressEvents(seed: number, users: number): { events: SqlDerivationEvent[]; owners: Map<string, string> } {
  const next = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const events: SqlDerivationEvent[] = [];
  const owners = new Map<string, string>();
  for (let u = 0; u < users; u += 1) {
    const user = `user-${u}`;
    owners.set(user, user);
    let minute = Math.floor(next() * 100);
    const count = 1 + Math.floor(next() * 40);
    for (let i = 0; i < count; i += 1) {
      // Mostly 0–2 minutes apart (ties), sometimes a gap that may or may not end the session.
      minute += next() < 0.15 ? 20 + Math.floor(next() * 20) : Math.floor(next() * 3);
      const properties: Record<string, unknown> = {};
      const p = pick(VALUES);
      if (p !== undefined) properties.p = p;
      if (next() < 0.3) properties.q = pick(['x', 'y', 1]);
      events.push(trackEvent(user, `m-${u}-${String(Math.floor(next() * 1000)).padStart(3, '0')}-${i}`, pick(['a', 'a', 'b', 'b', 'c', 'd', 'x']), minute * MINUTE, properties));
    }
  }
  return { events, owners };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** deriveJourneys' funnels (src/journeys/derive-journeys.ts) over the placed sessions and events. */
function jsOutcomes(sessions: readonly Session[], events: readonly SessionEvent[], funnels: readonly FunnelDefinition[]): FunnelOutcome[] {
  const outcomes: FunnelOutcome[] = [];
  const users = [...new Set(sessions.map((s) => s.userId))];
  for (const user of users) {
    const own = sessions.filter((s) => s.userId === user);
    const all = toRuleEvents(events.filter((e) => e.userId === user));
    const ofSession = (id: string) => toRuleEvents(events.filter((e) => e.sessionId === id));
    for (const session of own) {
      for (const funnel of funnels)
        outcomes.push(funnelOutcome(funnel, ofSession(session.sessionId), { scope: 'session', subjectId: session.sessionId, userId: user, fallbackStart: session.startedAt }));
    }
    for (const funnel of funnels) outcomes.push(funnelOutcome(funnel, all, { scope: 'user', subjectId: user, userId: user, fallbackStart: own[0]!.startedAt }));
  }
  return outcomes;
}

const key = (o: FunnelOutcome) => `${o.userId} ${o.scope} ${o.subjectId} ${o.funnel}`;
const sorted = (list: readonly FunnelOutcome[]) => [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

describe('funnels in SQL = funnels.ts (the oracle)', () => {
  let config: JourneyConfig;
  let stores: Awaited<ReturnType<typeof openStores>>;
  let sql: SqlDerivation;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-sql-funnels-'));
    const path = join(dir, 'journeyctl.yaml');
    writeFileSync(path, 'derivation:\n  engine: sql\n');
    const resolved = resolveConfig({ configPath: path, dataDir: join(dir, 'data') }, {}, { engines: REGISTERED_ENGINE_NAMES });
    if (!resolved.ok) throw new Error(resolved.errors.join('; '));
    config = resolved.config;
    stores = await openStores(config, LEASE);
    sql = sqlDerivationOf(stores.analytics)!;
  });

  afterAll(async () => {
    await stores?.close();
  });

  /** Places the events in sessions, computes the funnels both ways; the SQL outcomes, and JS's. */
  async function both(input: { events: SqlDerivationEvent[]; owners: Map<string, string> }, funnels: readonly FunnelDefinition[]) {
    const rules = sqlSessionRules(config.pipeline);
    await sql.load(input.events, input.owners);
    await sql.place(rules);
    const sessions = await collect(sql.sessions(rules));
    const events = await collect(sql.events());
    expect(await sql.placeFunnels(funnels)).toBe(true);
    const fromSql = await collect(sql.funnelOutcomes([...input.owners.values()]));
    for (const outcome of fromSql) expect(funnels[outcome.funnelIndex]!.name).toBe(outcome.funnel);
    return { sql: sorted(fromSql.map(({ funnelIndex: _, ...outcome }) => outcome)), js: sorted(jsOutcomes(sessions, events, funnels)), sessions };
  }

  for (const seed of [1, 2, 3]) {
    it(`random sessions (seed ${seed}): every outcome equal, and the stress reaches every level`, async () => {
      const { sql: fromSql, js, sessions } = await both(stressEvents(seed, 60), FUNNELS);
      expect(sessions.length).toBeGreaterThan(60);
      expect(fromSql).toEqual(js);
      // The inputs exercise the rules: partial and full conversions, in both scopes.
      for (const funnel of ['abc', 'aaa', 'either', 'long']) {
        const levels = new Set(js.filter((o) => o.funnel === funnel).map((o) => o.stepsReached));
        expect(levels.size).toBeGreaterThan(2);
      }
      expect(js.some((o) => o.scope === 'user' && o.converted)).toBe(true);
    });
  }

  it('hand-made edges: a tie at the start, the window to the millisecond, a later attempt going further, steps across sessions', async () => {
    const owners = new Map([
      ['u', 'u'],
      ['v', 'v'],
    ]);
    const event = trackEvent;
    const events = [
      // u: b and a at one instant (message id order decides), c exactly at the window's end.
      event('u', 'u2', 'a', 0),
      event('u', 'u1', 'b', 0),
      event('u', 'u3', 'b', MINUTE),
      event('u', 'u4', 'c', 10 * MINUTE),
      // A first attempt that stalls, a second that converts: the second is the outcome.
      event('u', 'u5', 'a', 12 * MINUTE),
      event('u', 'u6', 'a', 14 * MINUTE),
      event('u', 'u7', 'b', 19 * MINUTE),
      event('u', 'u8', 'c', 23 * MINUTE + 1),
      // v: the funnel's steps in two sessions (a 40 min gap): only user scope converts.
      event('v', 'v1', 'a', 0),
      event('v', 'v2', 'b', 5 * MINUTE),
      event('v', 'v3', 'c', 45 * MINUTE),
    ];
    const funnels: FunnelDefinition[] = [
      { name: 'abc10', windowMs: 10 * MINUTE, steps: [[on('a')], [on('b')], [on('c')]] },
      { name: 'abc9', windowMs: 9 * MINUTE + 59_999, steps: [[on('a')], [on('b')], [on('c')]] },
      { name: 'abc-hour', windowMs: 60 * MINUTE, steps: [[on('a')], [on('b')], [on('c')]] },
    ];
    const { sql: fromSql, js } = await both({ events, owners }, funnels);
    expect(fromSql).toEqual(js);
    const byKey = new Map(js.map((o) => [`${o.subjectId === 'u' || o.subjectId === 'v' ? o.subjectId : `${o.userId}-session`} ${o.funnel}`, o]));
    expect(byKey.get('u abc10')).toMatchObject({ stepsReached: 3, evidence: ['u2', 'u3', 'u4'] });
    expect(byKey.get('u abc9')).toMatchObject({ stepsReached: 3, evidence: ['u6', 'u7', 'u8'] });
    expect(byKey.get('v abc-hour')).toMatchObject({ stepsReached: 3, converted: true });
    expect(
      js
        .filter((o) => o.userId === 'v' && o.scope === 'session' && o.funnel === 'abc-hour')
        .map((o) => o.stepsReached)
        .sort(),
    ).toEqual([0, 2]);
  });

  it('refuses, for JS to compute them, funnels it cannot hold to funnels.ts: a property named like an Object.prototype member', async () => {
    const input = stressEvents(9, 3);
    await sql.load(input.events, input.owners);
    await sql.place(sqlSessionRules(config.pipeline));
    expect(await sql.placeFunnels([{ name: 'proto', windowMs: MINUTE, steps: [[on('a', { toString: { exists: true } })], [on('b')]] }])).toBe(false);
  });

  it('refuses properties ClickHouse cannot parse (a lone surrogate JSON.parse accepts) where a funnel reads them', async () => {
    const input = stressEvents(10, 3);
    input.events[0]!.event = 'a';
    input.events[0]!.propertiesJson = JSON.stringify({ p: '\ud800' });
    await sql.load(input.events, input.owners);
    await sql.place(sqlSessionRules(config.pipeline));
    expect(await sql.placeFunnels([{ name: 'plain', windowMs: MINUTE, steps: [[on('a')], [on('b')]] }])).toBe(true);
    expect(await sql.placeFunnels([{ name: 'reads', windowMs: MINUTE, steps: [[on('a', { p: 1 })], [on('b')]] }])).toBe(false);
  });
});
