// `npm run bench -- --stages --sql-derivation`: after the JS derivation's rows, the same users
// derived by the SQL derivation (ADR 0017), each step timed alone, in CPU-s and wall-s per
// million lines. The stitching map is the JS plan's; the input is loaded from the raw store
// into chdb (a cost that goes once raw events live in chdb, issue 19 point 1).
import type { JourneyConfig } from '../../src/config/config.js';
import type { StoredEvent } from '../../src/domain/event.js';
import { loadEventsOfUsers } from '../../src/pipeline/derive-users.js';
import { createSessionize } from '../../src/pipeline/sessionize.js';
import { sqlSessionRules } from '../../src/pipeline/sql-session-rules.js';
import type { Stores } from '../../src/stores/open-stores.js';
import { sqlDerivationOf } from '../../src/stores/ports/sql-derivation.js';

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
  return { events: placed, sessions };
}
