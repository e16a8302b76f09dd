import type { CorrectionPlan } from '../corrections/apply-corrections.js';
import type { StoredEvent } from '../domain/event.js';
import type { Profile } from '../domain/profile.js';
import type { Session, SessionEvent } from '../domain/session.js';
import type { createDeriveJourneys } from '../journeys/derive-journeys.js';
import type { FunnelDefinition } from '../journeys/funnels.js';
import type { SqlDerivation, SqlRawEvents, SqlSessionRules } from '../stores/ports/sql-derivation.js';
import type { RawStore } from '../stores/raw-store.js';
import { buildProfile } from './build-profile.js';
import { gatherDerivations, loadEventsOfUsers, type UsersDerivation } from './derive-users.js';
import type { createSessionize } from './sessionize.js';
import { journeysWithSqlFunnels } from './sql-funnel-outcomes.js';

export interface SqlDeriveDeps {
  raw: RawStore;
  sql: SqlDerivation;
  rules: SqlSessionRules;
  /** Where the engine holds the raw events itself (they are not loaded then); null: it does not. */
  rawEvents?: SqlRawEvents | null;
  /** The funnels, computed in the engine where SQL holds them to funnels.ts (absent: in JS). */
  funnels?: readonly FunnelDefinition[];
  sessionize: ReturnType<typeof createSessionize>;
  deriveJourneys: ReturnType<typeof createDeriveJourneys>;
}

/**
 * Whether a round's corrections let sessions be cut in SQL: forced splits and joins, moved
 * events and event edits (drop, rename, set property) are applied by the JS derivation only.
 */
export function sqlCanDerive(corrections: CorrectionPlan): boolean {
  return corrections.eventEdits.length === 0 && corrections.splitBefore.size === 0 && corrections.joinBefore.size === 0 && corrections.moves.size === 0;
}

/** What an event carries for the flags beyond its stored row (StoredEvent.copies, anonymousIdUsers). */
type EventFacts = Pick<SessionEvent, 'copies' | 'anonymousIdUsers'>;

/**
 * The SQL derivation of one round (ADR 0017): the round's events and stitching map go to the
 * engine, sessions are cut, events placed and funnel outcomes computed there, then each chunk of
 * users reads its sessions and placed events back for labels and flags (JS, as before). Profiles
 * describe the stored events, so they are built while the events are loaded. The result of
 * `derive(chunk)` is what deriveUsers gives for the same users, byte for byte
 * (test/sql-derivation.differential.test.ts).
 */
export async function prepareSqlRound(
  deps: SqlDeriveDeps,
  users: readonly string[],
  canonical: ReadonlyMap<string, string>,
  corrections: CorrectionPlan,
): Promise<(chunk: readonly string[]) => Promise<UsersDerivation>> {
  const profiles = new Map<string, Profile>();
  const facts = new Map<string, EventFacts>();
  const owners = new Map<string, string>();
  async function* events(): AsyncIterable<StoredEvent> {
    for (let start = 0; start < users.length; start += 500) {
      const byUser = await loadEventsOfUsers(deps.raw, users.slice(start, start + 500), canonical, deps.sessionize);
      for (const [user, list] of byUser) {
        const profile = buildProfile(user, list, 0);
        if (profile) profiles.set(user, profile);
        for (const event of list) {
          owners.set(event.identityKey, user);
          if (event.copies !== 1 || event.anonymousIdUsers) facts.set(event.messageId, { copies: event.copies, ...(event.anonymousIdUsers ? { anonymousIdUsers: event.anonymousIdUsers } : {}) });
          yield event;
        }
      }
    }
  }
  const rawEvents = deps.rawEvents ?? null;
  if (rawEvents !== null && deps.rules.mode === 'gap') {
    // Profiles and the flags' facts still read the events back (ADR 0017, next step); the engine reads them in place.
    for await (const _ of events());
    await deps.sql.loadMap(owners, rawEvents);
  } else await deps.sql.load(events(), owners);
  await deps.sql.place(deps.rules);
  // Funnels in the engine unless one cannot be held to funnels.ts there (ADR 0017): then in JS, as before.
  const sqlFunnels = deps.funnels !== undefined && deps.funnels.length > 0 && (await deps.sql.placeFunnels(deps.funnels));

  return async function derive(chunk: readonly string[]): Promise<UsersDerivation> {
    const sessionsOf = new Map<string, Session[]>();
    for await (const session of deps.sql.sessions(deps.rules, chunk)) push(sessionsOf, session.userId, session);
    const eventsOf = new Map<string, SessionEvent[]>();
    for await (const event of deps.sql.events(chunk)) push(eventsOf, event.userId, { ...event, copies: 1, ...facts.get(event.messageId) });
    return gatherDerivations(
      chunk,
      (user) => {
        const sessions = sessionsOf.get(user) ?? [];
        const profile = profiles.get(user);
        return { sessions, events: eventsOf.get(user) ?? [], profile: profile ? { ...profile, sessionCount: sessions.length } : null };
      },
      sqlFunnels ? await journeysWithSqlFunnels(deps.sql, chunk, deps.deriveJourneys) : deps.deriveJourneys,
      corrections,
    );
  };
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}
