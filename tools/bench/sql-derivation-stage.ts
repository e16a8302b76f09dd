// `npm run bench -- --stages --sql-derivation`: after the JS derivation's rows, the same users
// derived by the SQL derivation (ADR 0017), each step timed alone, in CPU-s and wall-s per
// million lines. The stitching map is the JS plan's; the input is loaded from the raw store
// into chdb (a cost that goes once raw events live in chdb, issue 19 point 1).
import type { JourneyConfig } from '../../src/config/config.js';
import type { StoredEvent } from '../../src/domain/event.js';
import type { SessionEvent } from '../../src/domain/session.js';
import { funnelOutcome } from '../../src/journeys/funnels.js';
import { type RuleEvent, toRuleEvents } from '../../src/journeys/rules.js';
import { loadEventsOfUsers } from '../../src/pipeline/derive-users.js';
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
