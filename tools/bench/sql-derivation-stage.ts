// `npm run bench -- --stages --sql-derivation`: after the JS derivation's rows, the same users
// derived by the SQL derivation (ADR 0017), each step timed alone, in CPU-s and wall-s per
// million lines. The stitching map is the JS plan's; the input is loaded from the raw store
// into chdb (a cost that goes once raw events live in chdb, issue 19 point 1).
import { createHash } from 'node:crypto';
import type { JourneyConfig } from '../../src/config/config.js';
import type { CorrectionPlan } from '../../src/corrections/apply-corrections.js';
import type { StoredEvent } from '../../src/domain/event.js';
import type { SessionEvent } from '../../src/domain/session.js';
import { funnelOutcome } from '../../src/journeys/funnels.js';
import { type RuleEvent, toRuleEvents } from '../../src/journeys/rules.js';
import { loadEventsOfUsers } from '../../src/pipeline/derive-users.js';
import { prepareSqlRound } from '../../src/pipeline/derive-users-sql.js';
import { eventRecord } from '../../src/render/records.js';
import type { DerivationStages } from '../../src/services/derivation.js';
import { createSessionize } from '../../src/pipeline/sessionize.js';
import { sqlSessionRules } from '../../src/pipeline/sql-session-rules.js';
import type { Stores } from '../../src/stores/open-stores.js';
import { type SqlDerivation, sqlDerivationOf } from '../../src/stores/ports/sql-derivation.js';

type MeasureAsync = <T>(name: string, work: () => Promise<T>) => Promise<T>;

export async function sqlDerivationMeasured(
  config: JourneyConfig,
  stores: Stores,
  users: readonly string[],
  canonical: ReadonlyMap<string, string>,
  measureAsync: MeasureAsync,
): Promise<{ events: number; sessions: number }> {
  const sql = sqlDerivationOf(stores.analytics);
  if (!sql) throw new Error(`analytics engine ${stores.analytics.engine} has no SQL derivation`);
  const sessionize = createSessionize(config.pipeline);
  const rules = sqlSessionRules(config.pipeline);
  // Every member id of the users, mapped to its owner: the map the SQL joins on.
  const owners = new Map<string, string>();
  async function* events(): AsyncIterable<StoredEvent> {
    for (let start = 0; start < users.length; start += 500) {
      const byUser = await loadEventsOfUsers(stores.raw, users.slice(start, start + 500), canonical, sessionize);
      for (const [user, list] of byUser) {
        for (const event of list) {
          owners.set(event.identityKey, user);
          yield event;
        }
      }
    }
  }
  await measureAsync('SQL input: read back + load into chdb', async () => {
    // The map is complete once every event was read: load() reads it after the events.
    await sql.load(events(), owners);
  });
  const placed = await measureAsync('SQL sessionize + placement (chdb)', () => sql.place(rules));
  let sessions = 0;
  await measureAsync('SQL sessions read into JS', async () => {
    for await (const _ of sql.sessions(rules)) sessions += 1;
  });
  const version = await stores.raw.nextVersion();
  await measureAsync('SQL placed events -> analytics (INSERT SELECT)', () => sql.writeEvents(version));
  await funnelsMeasured(config, sql, users, measureAsync);
  return { events: placed, sessions };
}

/**
 * The funnels of the placed events both ways: in SQL (placeFunnels, then the outcomes read by
 * user as a round reads them), and in JS (funnels.ts) over the placed events read back. A SQL
 * round reads the events back for labels and flags anyway, so what it saves is the JS funnels
 * row minus the read-back row (both parse the events' properties, as deriveJourneys does once).
 */
async function funnelsMeasured(config: JourneyConfig, sql: SqlDerivation, users: readonly string[], measureAsync: MeasureAsync): Promise<void> {
  const funnels = config.journeys.funnels;
  const held = await measureAsync('SQL funnels (placeFunnels)', () => sql.placeFunnels(funnels));
  if (!held) throw new Error('the funnels of the config cannot be computed in SQL');
  await measureAsync('SQL funnel outcomes read into JS', async () => {
    for (let start = 0; start < users.length; start += 2_000) for await (const _ of sql.funnelOutcomes(users.slice(start, start + 2_000)));
  });
  const byUser = async (work: (user: string, sessions: Map<string, RuleEvent[]>, all: RuleEvent[]) => void) => {
    for (let start = 0; start < users.length; start += 2_000) {
      const chunk = users.slice(start, start + 2_000);
      const ofUser = new Map<string, SessionEvent[]>();
      for await (const event of sql.events(chunk)) {
        const list = ofUser.get(event.userId);
        if (list) list.push(event);
        else ofUser.set(event.userId, [event]);
      }
      for (const [user, events] of ofUser) {
        const all = toRuleEvents(events);
        const sessions = new Map<string, RuleEvent[]>();
        events.forEach((event, index) => {
          const list = sessions.get(event.sessionId);
          if (list) list.push(all[index]!);
          else sessions.set(event.sessionId, [all[index]!]);
        });
        work(user, sessions, all);
      }
    }
  };
  await measureAsync('placed events read back + properties parsed (JS)', () => byUser(() => {}));
  await measureAsync('placed events read back + parsed + JS funnels', () =>
    byUser((user, sessions, all) => {
      for (const [sessionId, events] of sessions)
        for (const funnel of funnels) funnelOutcome(funnel, events, { scope: 'session', subjectId: sessionId, userId: user, fallbackStart: events[0]!.eventTime });
      for (const funnel of funnels) funnelOutcome(funnel, all, { scope: 'user', subjectId: user, userId: user, fallbackStart: all[0]!.eventTime });
    }),
  );
}

/**
 * `--sql-round` (ADR 0024, "Events written by the engine"): a `derivation.engine: sql` round as
 * `run` derives it (prepareSqlRound, chunks of ~10k events, on a fresh analytics store), with
 * each chunk's events written twice: as `run` writes them (the JS rows through replaceUsers)
 * and by INSERT … SELECT from the engine's placement (SqlDerivation.writeEvents), each timed
 * alone. The other tables are not written. At the end the events as exported (the SQL copies,
 * at the higher versions) must be the JS rows, line for line: an order-free digest is compared.
 */
export async function sqlRoundMeasured(
  config: JourneyConfig,
  stores: Stores,
  stages: Pick<DerivationStages, 'sessionize' | 'deriveJourneys'>,
  plan: { users: readonly string[]; canonical: ReadonlyMap<string, string>; corrections: CorrectionPlan },
  measureAsync: MeasureAsync,
): Promise<void> {
  const sql = sqlDerivationOf(stores.analytics);
  if (!sql) throw new Error(`analytics engine ${stores.analytics.engine} has no SQL derivation`);
  const rawInEngine = config.stores.raw.engine === 'chdb' && config.stores.analytics.engine === 'chdb';
  const rules = sqlSessionRules(config.pipeline);
  // The engine's and the raw store's calls timed on their own rows (nothing overlaps here); what is left of a chunk is JS.
  const calls = measuredCalls(measureAsync);
  // The alternative to a write a chunk: each slice's events at once, by one INSERT…SELECT, before the chunk that
  // places the next slice (and after the round), so the JS rows of its chunks are written first, to users with none yet.
  let slice: ReadonlySet<string> | null = null;
  const writeSlice = async (): Promise<void> => {
    if (slice !== null) await measureAsync('SQL round: events write, INSERT…SELECT a slice', async () => sql.writeEvents(await stores.raw.nextVersion()));
    slice = null;
  };
  // A slice's users are those its map gives events to (prepareSqlRound loads the map before placing).
  const sliceEvents = calls.wrap(sql, 'loadMap', '  · SQL identity map of a slice', async (load: () => Promise<void>, owners: ReadonlyMap<string, string>) => {
    slice = new Set(owners.values());
    return load();
  });
  const measuredSql = calls.wrapAll(sliceEvents, {
    place: '  · SQL placement of a slice (engine)',
    placeFunnels: '  · SQL funnels of a slice (engine)',
    sessions: '  · SQL sessions read (engine + JSON)',
    sessionIds: '  · SQL (message id, session id) read',
    funnelOutcomes: '  · SQL funnel outcomes read',
  });
  const measuredRaw = calls.wrapAll(stores.raw, {
    eventsByIdentity: '  · SQL read back events (raw store)',
    membersOf: '  · SQL identity members (raw store)',
    anonymousIdUsers: '  · SQL identity conflicts (raw store)',
  });
  const derive = await measureAsync('SQL round: derive chunk (read back, engine sessions, JS rest)', () =>
    prepareSqlRound(
      {
        raw: measuredRaw,
        sql: measuredSql,
        rules,
        rawEvents: rawInEngine ? {} : null,
        funnels: config.journeys.funnels,
        sessionize: stages.sessionize,
        deriveJourneys: stages.deriveJourneys,
      },
      plan.users,
      new Map(plan.canonical),
      plan.corrections,
    ),
  );
  const digest = orderFreeDigest();
  let usersPerRead = 100;
  let events = 0;
  for (let start = 0; start < plan.users.length;) {
    const chunk = plan.users.slice(start, start + usersPerRead);
    start += chunk.length;
    if (slice !== null && chunk.some((user) => !slice!.has(user))) await writeSlice();
    const derived = await measureAsync('SQL round: derive chunk (read back, engine sessions, JS rest)', () => derive(chunk));
    const placed = derived.derivation.events;
    events += placed.length;
    for (const event of placed) digest.add(JSON.stringify(eventRecord(event)));
    await measureAsync('SQL round: events write, JS rows (as run)', async () =>
      stores.analytics.replaceUsers(chunk, { events: placed, sessions: [], findings: [], funnelOutcomes: [] }, await stores.raw.nextVersion()),
    );
    const written = await measureAsync('SQL round: events write, INSERT…SELECT', async () => sql.writeEvents(await stores.raw.nextVersion(), chunk));
    if (written !== placed.length) throw new Error(`INSERT…SELECT wrote ${written} events for ${chunk.length} users, the JS derivation ${placed.length}`);
    // deriveRound's learning of users per read (~10k events a read).
    usersPerRead = Math.min(2_000, Math.max(1, Math.round((chunk.length * 10_000) / Math.max(1, placed.length))));
  }
  await writeSlice();
  const exported = orderFreeDigest();
  for await (const event of stores.analytics.streamEvents({})) exported.add(JSON.stringify(eventRecord(event)));
  if (exported.value() !== digest.value()) throw new Error(`events written by INSERT…SELECT differ from the JS rows (${exported.value()} against ${digest.value()})`);
  console.log(`SQL round: ${plan.users.length.toLocaleString('en-US')} users, ${events.toLocaleString('en-US')} events; the export of the SQL-written events is the JS rows (${digest.value()})`);
}

/**
 * Objects whose named methods are timed as rows of their own (promises until settled, async
 * iterables until drained); `wrap` also lets a method's result be followed by more work.
 */
function measuredCalls(measureAsync: MeasureAsync) {
  const timed = (name: string, result: unknown): unknown => {
    if (result instanceof Promise) return measureAsync(name, () => result);
    if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) {
      return (async function* () {
        const items: unknown[] = [];
        await measureAsync(name, async () => {
          for await (const item of result as AsyncIterable<unknown>) items.push(item);
        });
        yield* items;
      })();
    }
    return result;
  };
  const wrapAll = <T extends object>(target: T, names: Partial<Record<keyof T, string>>): T =>
    new Proxy(target, {
      get(object, key, receiver) {
        const value = Reflect.get(object, key, receiver) as unknown;
        const name = names[key as keyof T];
        if (typeof value !== 'function') return value;
        if (name === undefined) return bound(object, value);
        return (...args: unknown[]) => timed(name, (value as (...a: unknown[]) => unknown).apply(object, args));
      },
    });
  return {
    wrapAll,
    wrap<T extends object, R, A>(target: T, key: keyof T, name: string, around: (call: () => Promise<R>, first: A) => Promise<R>): T {
      const method = target[key] as (...a: unknown[]) => Promise<R>;
      return new Proxy(target, {
        get: (object, property, receiver) =>
          property === key ? (...args: unknown[]) => around(() => measureAsync(name, () => method.apply(object, args)), args[0] as A) : bound(object, Reflect.get(object, property, receiver)),
      });
    },
  };
}

const bound = (object: object, value: unknown): unknown => (typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(object) : value);

/** A digest of a multiset of lines, whatever their order: the count and the sum of their 64-bit hashes. */
function orderFreeDigest() {
  let sum = 0n;
  let count = 0;
  return {
    add(line: string): void {
      sum = (sum + createHash('sha256').update(line).digest().readBigUInt64BE(0)) & 0xffff_ffff_ffff_ffffn;
      count += 1;
    },
    value: () => `${count}:${sum.toString(16)}`,
  };
}
