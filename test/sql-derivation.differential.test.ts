// The SQL derivation against its oracle, the JS derivation (ADR 0017): on the fixtures, the
// generator's truth, the determinism suite's shuffled and split inputs and inputs made to hit
// every cutting rule, sessions and event placement computed in ClickHouse SQL must give the
// same bytes as `journeyctl export` of what `run` derived in JS.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GroundTruth } from '../tools/generator/truth.js';
import { type JourneyConfig, resolveConfig } from '../src/config/config.js';
import type { StoredEvent } from '../src/domain/event.js';
import type { Session } from '../src/domain/session.js';
import { attachEventFacts } from '../src/pipeline/event-facts.js';
import { createSessionize } from '../src/pipeline/sessionize.js';
import { sqlSessionRules } from '../src/pipeline/sql-session-rules.js';
import { eventRecord, findingRecord, funnelOutcomeRecord, profileRecord, sessionRecord } from '../src/render/records.js';
import { ingestFile } from '../src/services/ingest.js';
import { REGISTERED_ENGINE_NAMES } from '../src/stores/engine-names.js';
import type { RawStore } from '../src/stores/raw-store.js';
import type { AnalyticsStore } from '../src/stores/analytics-store.js';
import { MAX_TIME } from '../src/stores/clickhouse/clickhouse-connection.js';
import { openStores } from '../src/stores/open-stores.js';
import { sqlDerivationOf } from '../src/stores/ports/sql-derivation.js';
import { noisyJourneyLines, shuffled, toLine } from './helpers/journeys.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
/** Each case runs `run` three times over (JS, SQL engine on SQLite raw, on chdb raw): minutes on a loaded 2-core machine. */
const SLOW = 600_000;
const LEASE = { command: 'sql-derivation test', waitMs: 0, log: () => {} };

interface Case {
  name: string;
  /** Input files, ingested by `run` one after another. */
  inputs: string[];
  /** Extra `pipeline:` keys (YAML lines, indented two spaces). */
  pipeline?: string[];
  /** Extra top-level config sections (YAML lines), e.g. `funnels:`. */
  sections?: string[];
  truth?: string;
}

function workdir(): string {
  return mkdtempSync(join(tmpdir(), 'jc-sql-derivation-'));
}

function writeLines(dir: string, name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function configFor(dir: string, pipeline: readonly string[] = [], extra: readonly string[] = []): JourneyConfig {
  const path = join(dir, 'journeyctl.yaml');
  const sections = [readFileSync(join(FIXTURES, 'journeyctl.yaml'), 'utf8'), ...(pipeline.length ? ['pipeline:', ...pipeline] : []), ...extra];
  writeFileSync(path, `${sections.join('\n')}\n`);
  const resolved = resolveConfig({ configPath: path, dataDir: join(dir, 'data') }, {}, { engines: REGISTERED_ENGINE_NAMES });
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  return resolved.config;
}

const ndjson = (records: Iterable<Record<string, unknown>>) => [...records].map((record) => `${JSON.stringify(record)}\n`).join('');

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** ClickHouse orders strings by their bytes. */
const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** What `journeyctl export <kind> --output ndjson` writes for the analytics kinds. */
async function exports(analytics: AnalyticsStore, raw?: RawStore): Promise<Record<string, string>> {
  return {
    ...(raw ? { profiles: ndjson((await collect(raw.streamProfiles())).map(profileRecord)) } : {}),
    sessions: ndjson((await collect(analytics.streamSessions({}))).map(sessionRecord)),
    events: ndjson((await collect(analytics.streamEvents({}))).map(eventRecord)),
    journeys: ndjson((await collect(analytics.streamFunnelOutcomes({}))).map(funnelOutcomeRecord)),
    labels: ndjson((await collect(analytics.streamFindings({}, 'label'))).map(findingRecord)),
    flags: ndjson((await collect(analytics.streamFindings({}, 'flag'))).map(findingRecord)),
  };
}

interface Derived {
  /** `journeyctl export` of the JS derivation (the oracle), per kind. */
  js: Record<string, string>;
  /** The SQL placement over the same stored events and map, as `export events` renders it. */
  sqlPlacement: string;
  /** Export of events after the SQL path wrote its placement into the events table itself. */
  sqlWrittenEvents: string;
  sqlSessions: Session[];
  /** `run` with derivation.engine sql (the derivation service's SQL round), in a data directory of its own. */
  sqlEngine: Record<string, string>;
  /** The same with stores.raw.engine chdb: the SQL reads raw_events in place. */
  sqlEngineRawInChdb: Record<string, string>;
  jsSessionizeOnly: string;
  sqlSessionizeOnly: string;
  placed: number;
}

/**
 * The same inputs through `run`'s ingest with derivation.engine sql (the derivation service's SQL
 * rounds), in a data directory of its own (chdb opens one per process at a time): raw events in
 * SQLite (loaded into the engine each round) or in chdb (read there in place).
 */
async function runWithSqlEngine(testCase: Case, rawEngine: 'sqlite' | 'chdb'): Promise<Record<string, string>> {
  const config = configFor(workdir(), testCase.pipeline, [...(testCase.sections ?? []), 'derivation:', '  engine: sql', 'stores:', '  raw:', `    engine: ${rawEngine}`]);
  expect(config.derivation.engine).toBe('sql');
  for (const input of testCase.inputs) await ingestFile(config, { input, stdin: process.stdin, lease: LEASE });
  const stores = await openStores(config, LEASE);
  try {
    // The last round was cut in SQL: its placement is still in the working table.
    const placed = await collect(sqlDerivationOf(stores.analytics)!.events());
    expect(placed.length).toBeGreaterThan(0);
    // Its funnel outcomes were computed in SQL too (ADR 0017, funnels in SQL).
    expect((await collect(sqlDerivationOf(stores.analytics)!.funnelOutcomes([...new Set(placed.map((e) => e.userId))]))).length).toBeGreaterThan(0);
    return await exports(stores.analytics, stores.raw);
  } finally {
    await stores.close();
  }
}

async function deriveBoth(testCase: Case): Promise<Derived> {
  const derived = await deriveJsAndSql(testCase);
  return { ...derived, sqlEngine: await runWithSqlEngine(testCase, 'sqlite'), sqlEngineRawInChdb: await runWithSqlEngine(testCase, 'chdb') };
}

async function deriveJsAndSql(testCase: Case): Promise<Omit<Derived, 'sqlEngine' | 'sqlEngineRawInChdb'>> {
  const dir = workdir();
  const config = configFor(dir, testCase.pipeline, testCase.sections);
  for (const input of testCase.inputs) await ingestFile(config, { input, stdin: process.stdin, lease: LEASE });
  const stores = await openStores(config, LEASE);
  try {
    const js = await exports(stores.analytics, stores.raw);
    const sqlDerivation = sqlDerivationOf(stores.analytics);
    if (!sqlDerivation) throw new Error(`analytics engine ${stores.analytics.engine} has no SQL derivation`);

    // The stitching map stays in JS: the one the JS derivation persisted.
    const keys = await stores.raw.identityKeysInRange({ from: 0, to: MAX_TIME });
    const owners = await stores.raw.canonicalOf(keys);
    const sessionize = createSessionize(config.pipeline);
    const events = await stores.raw.eventsByIdentity(keys);
    await attachEventFacts(stores.raw, events, keys, sessionize);
    const rules = sqlSessionRules(config.pipeline);
    await sqlDerivation.load(events, owners);
    const placed = await sqlDerivation.place(rules);
    const sqlSessions = await collect(sqlDerivation.sessions(rules));
    const sqlEvents = await collect(sqlDerivation.events());

    // Sessionize alone, JS and SQL, on the same events and map (flags: sessionize's own).
    const byUser = new Map<string, StoredEvent[]>();
    for (const event of events) {
      const owner = owners.get(event.identityKey);
      if (owner === undefined) continue;
      const list = byUser.get(owner) ?? [];
      list.push(event);
      byUser.set(owner, list);
    }
    const order = (a: Session, b: Session) => bytewise(a.userId, b.userId) || a.startedAt - b.startedAt || bytewise(a.sessionId, b.sessionId);
    const jsAlone = [...byUser].flatMap(([user, list]) => sessionize(user, list).sessions).sort(order);
    const sessionizeLine = (s: Session) => ({ ...sessionRecord(s), first_message_id: s.firstMessageId, mode: s.mode });

    const placedEvents = sqlEvents.sort((a, b) => a.eventTime - b.eventTime || bytewise(a.messageId, b.messageId));
    // The placement written by ClickHouse itself, over the JS rows at later versions, in two groups of users as a
    // round's writes would (ADR 0024): the export must not change, and each group gets exactly its own events.
    const users = [...new Set(placedEvents.map((e) => e.userId))].sort();
    const halves = [users.slice(0, Math.ceil(users.length / 2)), users.slice(Math.ceil(users.length / 2))];
    const version = await stores.raw.nextVersion();
    const written = [await sqlDerivation.writeEvents(version + 1, halves[0]), await sqlDerivation.writeEvents(version + 2, halves[1])];
    expect(written).toEqual(halves.map((half) => placedEvents.filter((e) => half.includes(e.userId)).length));
    const sqlWrittenEvents = ndjson((await collect(stores.analytics.streamEvents({}))).map(eventRecord));
    return {
      js,
      sqlPlacement: ndjson(placedEvents.map(eventRecord)),
      sqlWrittenEvents,
      sqlSessions,
      jsSessionizeOnly: ndjson(jsAlone.map(sessionizeLine)),
      sqlSessionizeOnly: ndjson(sqlSessions.map(sessionizeLine)),
      placed,
    };
  } finally {
    await stores.close();
  }
}

/** Lines that hit every cutting rule: 24 h cuts (with a tie at the cut), midnight, client session ids reused, missing and interleaved. */
function ruleLines(): string[] {
  const lines: string[] = [];
  // A bot active every 10 minutes for 50 hours: cut at 24 h twice; two events at the first cut's instant.
  for (let minute = 0; minute <= 50 * 60; minute += 10) lines.push(toLine({ messageId: `bot-${String(minute).padStart(4, '0')}`, event: 'page_viewed', userId: 'bot-1', minutes: minute }));
  lines.push(toLine({ messageId: 'bot-1440-a', event: 'button_clicked', userId: 'bot-1', minutes: 1440 }));
  // One visit across midnight (UTC and the Azores), one anonymous id then identified.
  for (let minute = 14 * 60; minute <= 16 * 60; minute += 20) lines.push(toLine({ messageId: `night-${minute}`, event: 'page_viewed', anonymousId: 'anon-night', minutes: minute }));
  lines.push(toLine({ type: 'identify', messageId: 'night-id', userId: 'nora', anonymousId: 'anon-night', minutes: 16 * 60 + 1 }));
  lines.push(toLine({ messageId: 'night-last', event: 'product_viewed', userId: 'nora', anonymousId: 'anon-night', minutes: 16 * 60 + 5, properties: { product_id: 3 } }));
  // Client session ids: s1 comes back after 3 h, s2 interleaves with it, some events carry none.
  const client = (messageId: string, minutes: number, sessionId?: string) =>
    lines.push(toLine({ messageId, event: 'button_clicked', userId: 'dora', minutes, properties: sessionId === undefined ? {} : { session_id: sessionId } }));
  for (const minute of [0, 5, 10, 15]) client(`dora-s1-${minute}`, minute, 's1');
  for (const minute of [7, 9, 12]) client(`dora-s2-${minute}`, minute, 's2');
  for (const minute of [3, 8, 90]) client(`dora-none-${minute}`, minute);
  for (const minute of [200, 210]) client(`dora-s1-${minute}`, minute, 's1');
  return lines;
}

/** Funnels that stress funnels.ts's rules: repeated steps, a property condition, steps in one instant, a window edge. */
const STRESS_FUNNELS = [
  'funnels:',
  '  - name: purchase',
  '    steps: [{ event: product_viewed }, { event: product_added }, { event: checkout_started }, { event: order_completed }]',
  '  - name: clicks',
  '    window: 10m',
  '    steps:',
  '      - { event: button_clicked }',
  '      - { event: button_clicked, where: { target: buy } }',
  '      - [{ event: page_viewed }, { event: button_clicked, where: { target: { in: [pay, 1, true] } } }]',
  '  - name: instant',
  '    window: 1s',
  '    steps: [{ event: page_viewed }, { event: [page_viewed, button_clicked] }, { event: button_clicked, where: { target: { exists: false } } }]',
];

/** Lines for STRESS_FUNNELS: ties in time, repeated and out-of-order steps, the window's edge and just past it, steps across sessions. */
function funnelLines(): string[] {
  const lines: string[] = [];
  const add = (userId: string, messageId: string, event: string, minutes: number, properties: Record<string, unknown> = {}) => lines.push(toLine({ messageId, event, userId, minutes, properties }));
  // Ties: three events in one instant, ordered by message id only.
  add('tia', 'tia-c', 'button_clicked', 0);
  add('tia', 'tia-a', 'page_viewed', 0);
  add('tia', 'tia-b', 'page_viewed', 0);
  add('tia', 'tia-d', 'button_clicked', 0, { target: 'buy' });
  add('tia', 'tia-e', 'button_clicked', 0, { target: 'pay' });
  // Repeated steps: clicks every minute, a buy on the fourth and fifth, a pay click at 10 and 11 min (edge, past it).
  for (let minute = 0; minute <= 5; minute += 1) add('rep', `rep-${minute}`, 'button_clicked', minute, minute >= 3 ? { target: 'buy' } : {});
  add('rep', 'rep-10', 'button_clicked', 10, { target: 1 });
  add('rep', 'rep-11', 'button_clicked', 11, { target: true });
  // Out of order: the purchase backwards, then forwards with a repeated middle step.
  const purchase = ['order_completed', 'checkout_started', 'product_added', 'product_viewed', 'product_added', 'product_added', 'checkout_started', 'order_completed'];
  purchase.forEach((event, index) => add('ord', `ord-${index}`, event, index * 2, event.startsWith('product') ? { product_id: index } : {}));
  // The 24 h window to the minute: one user converts at its edge (across sessions), one a minute past it.
  for (const [user, last] of [
    ['edge', 24 * 60],
    ['past', 24 * 60 + 1],
  ] as const) {
    add(user, `${user}-1`, 'product_viewed', 0, { product_id: 1 });
    add(user, `${user}-2`, 'product_added', 5, { product_id: 1 });
    add(user, `${user}-3`, 'checkout_started', 60);
    add(user, `${user}-4`, 'order_completed', last);
  }
  return lines;
}

function truthSessions(path: string): string[] {
  const truth = JSON.parse(readFileSync(path, 'utf8')) as GroundTruth;
  return truth.users.flatMap((user) => user.sessions.map((s) => `${user.canonicalId} ${Date.parse(s.startedAt)} ${Date.parse(s.endedAt)} ${s.eventCount}`)).sort();
}

/** Everything the SQL path computes must equal the JS derivation's export, byte for byte. */
function expectSame(d: Derived): void {
  expect(d.placed).toBeGreaterThan(0);
  for (const [raw, exported] of [
    ['sqlite', d.sqlEngine],
    ['chdb', d.sqlEngineRawInChdb],
  ] as const) {
    expect(Object.keys(exported)).toEqual(Object.keys(d.js));
    for (const [kind, bytes] of Object.entries(d.js)) expect({ kind, raw, bytes: exported[kind] }).toEqual({ kind, raw, bytes });
  }
  expect(d.sqlSessionizeOnly).toBe(d.jsSessionizeOnly);
  expect(d.sqlPlacement).toBe(d.js.events);
  expect(d.sqlWrittenEvents).toBe(d.js.events);
}

describe('SQL derivation = JS derivation (the oracle)', () => {
  for (const [fixture, truth] of [
    ['generated-small.ndjson', 'generated-small.truth.json'],
    ['generated-clean.ndjson', 'generated-clean.truth.json'],
    ['demo.ndjson', 'demo.truth.json'],
  ] as const) {
    it(
      `${fixture}: same exports, and the generator's true sessions`,
      async () => {
        const d = await deriveBoth({ name: fixture, inputs: [join(FIXTURES, fixture)] });
        expectSame(d);
        const found = d.sqlSessions.map((s) => `${s.userId} ${s.startedAt} ${s.endedAt} ${s.eventCount}`).sort();
        expect(found).toEqual(truthSessions(join(FIXTURES, truth)));
      },
      SLOW,
    );
  }

  it(
    'golden input: same exports',
    async () => {
      expectSame(await deriveBoth({ name: 'golden', inputs: [join(FIXTURES, 'golden', 'input.ndjson')] }));
    },
    SLOW,
  );

  it(
    'determinism inputs (in order, shuffled, split in three and ingested out of order): same exports, whichever way in',
    async () => {
      const dir = workdir();
      const noisy = noisyJourneyLines();
      const mixed = shuffled(noisy, 99);
      const third = Math.ceil(mixed.length / 3);
      const parts = [mixed.slice(0, third), mixed.slice(third, 2 * third), mixed.slice(2 * third)].map((part, index) => writeLines(dir, `part-${index}.ndjson`, part));
      const inOrder = await deriveBoth({ name: 'in-order', inputs: [writeLines(dir, 'all.ndjson', noisy)] });
      expectSame(inOrder);
      const shuffledRun = await deriveBoth({ name: 'shuffled', inputs: [writeLines(dir, 'shuffled.ndjson', shuffled(noisy, 7))] });
      expectSame(shuffledRun);
      const split = await deriveBoth({ name: 'split', inputs: [parts[2]!, parts[0]!, parts[1]!] });
      expectSame(split);
      expect(shuffledRun.sqlEngine).toEqual(inOrder.sqlEngine);
      expect(split.sqlEngine).toEqual(inOrder.sqlEngine);
    },
    SLOW,
  );

  it(
    '24 h cuts (overlong_session, a tie at the cut) and identity stitching: same exports',
    async () => {
      const dir = workdir();
      const d = await deriveBoth({ name: 'rules', inputs: [writeLines(dir, 'rules.ndjson', shuffled(ruleLines(), 3))] });
      expectSame(d);
      const bot = d.sqlSessions.filter((s) => s.userId === 'bot-1');
      expect(bot.map((s) => [s.eventCount, s.flags])).toEqual([
        [144, ['overlong_session']],
        [145, ['overlong_session']],
        [13, []],
      ]);
    },
    SLOW,
  );

  it(
    'split at midnight in a time zone: same exports',
    async () => {
      const dir = workdir();
      const d = await deriveBoth({ name: 'midnight', inputs: [writeLines(dir, 'rules.ndjson', ruleLines())], pipeline: ['  split_at_midnight: true', '  timezone: Atlantic/Azores'] });
      expectSame(d);
      expect(d.sqlSessions.filter((s) => s.userId === 'nora').map((s) => s.eventCount)).toEqual([6, 2]); // midnight in the Azores is 01:00 UTC
    },
    SLOW,
  );

  it(
    'client session ids (client@1): same exports, reused ids flagged',
    async () => {
      const dir = workdir();
      const d = await deriveBoth({
        name: 'client',
        inputs: [writeLines(dir, 'rules.ndjson', ruleLines())],
        pipeline: ['  session_mode: client', '  client_session_id_paths: [properties.session_id]', '  client_session_max_gap: 2h'],
      });
      expectSame(d);
      const dora = d.sqlSessions.filter((s) => s.userId === 'dora');
      expect(dora.map((s) => [s.eventCount, s.flags, s.mode])).toEqual([
        [4, [], 'client@1'], // s1
        [2, [], 'client@1'], // no id, 3 and 8 min
        [3, [], 'client@1'], // s2, interleaved with s1
        [1, [], 'client@1'], // no id, after a 30 min gap
        [2, ['client_session_reused'], 'client@1'], // s1 again after 3 h
      ]);
    },
    SLOW,
  );

  it(
    'an anonymous id shared by five users, in two inputs (identity_conflict, looked up once a round): same exports',
    async () => {
      const dir = workdir();
      // A kiosk logs in as five people in turn (more than the default 3), the last two in a later input; one user has a device of their own.
      const kiosk = ['ann', 'ben', 'cat', 'dan', 'eve'].map((user, i) => [
        toLine({ type: 'identify', messageId: `${user}-login`, userId: user, anonymousId: 'kiosk', minutes: 10 + i * 40 }),
        toLine({ messageId: `${user}-view`, event: 'page_viewed', userId: user, anonymousId: 'kiosk', minutes: 11 + i * 40 }),
      ]);
      const first = [toLine({ messageId: 'k0', event: 'page_viewed', anonymousId: 'kiosk', minutes: 0 }), ...kiosk.slice(0, 3).flat()];
      const later = [...kiosk.slice(3).flat(), toLine({ messageId: 'solo', event: 'page_viewed', userId: 'solo', anonymousId: 'own-device', minutes: 5 })];
      const d = await deriveBoth({ name: 'kiosk', inputs: [writeLines(dir, 'first.ndjson', first), writeLines(dir, 'later.ndjson', later)] });
      expectSame(d);
      const flagged = d.js.flags!.split('\n').filter((line) => line.includes('identity_conflict'));
      expect(flagged.map((line) => (JSON.parse(line) as { user_id: string }).user_id).sort()).toEqual(['ann', 'ben', 'cat', 'dan', 'eve']);
    },
    SLOW,
  );

  it(
    'funnels computed in SQL (ties, repeated and out-of-order steps, window edges, steps across sessions): same exports',
    async () => {
      const dir = workdir();
      const d = await deriveBoth({ name: 'funnels', inputs: [writeLines(dir, 'funnels.ndjson', shuffled(funnelLines(), 5))], sections: STRESS_FUNNELS });
      expectSame(d);
      const users = d.js
        .journeys!.trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((o) => o.scope === 'user');
      const reached = Object.fromEntries(users.map((o) => [`${String(o.subject_id)} ${String(o.funnel)}`, o.steps_reached]));
      expect(reached).toMatchObject({ 'edge purchase': 4, 'past purchase': 3, 'ord purchase': 4, 'rep clicks': 3, 'tia clicks': 3, 'tia instant': 3 });
    },
    SLOW,
  );
});
