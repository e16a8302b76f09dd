import type { CorrectionPlan } from '../corrections/apply-corrections.js';
import type { StoredEvent } from '../domain/event.js';
import type { Session, SessionEvent } from '../domain/session.js';
import type { createDeriveJourneys } from '../journeys/derive-journeys.js';
import type { FunnelDefinition } from '../journeys/funnels.js';
import type { SqlDerivation, SqlRawEvents, SqlSessionRules } from '../stores/ports/sql-derivation.js';
import type { RawStore } from '../stores/raw-store.js';
import { buildProfile } from './build-profile.js';
import { gatherDerivations, identityOwners, loadEventsOfUsers, roundEventLoader, type UsersDerivation } from './derive-users.js';
import { compareEvents, type createSessionize, sessionEventOf } from './sessionize.js';
import { journeysWithSqlFunnels } from './sql-funnel-outcomes.js';

export interface SqlDeriveDeps {
  raw: RawStore;
  sql: SqlDerivation;
  rules: SqlSessionRules;
  /** Where the engine holds the raw events itself (they are not loaded then); null: it does not. */
  rawEvents?: SqlRawEvents | null;
  /** Activity events a placement aims at (default EVENTS_PER_PLACEMENT). */
  eventsPerPlacement?: number;
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

/**
 * Activity events one placement aims at: the engine sorts a placement's events, properties
 * included, all at once, so this bounds the memory a round of any size takes (ADR 0017).
 */
export const EVENTS_PER_PLACEMENT = 250_000;

/**
 * The SQL derivation of one round (ADR 0017), placed in slices of consecutive users of about
 * `eventsPerPlacement` events: a slice's stitching map (and, where the engine does not hold the
 * raw events, its events) go to the engine; sessions are cut, events placed and funnel outcomes
 * computed there. Each chunk of users then reads its stored events
 * once, as the JS derivation does (profiles, the flags' facts, the events' fields), and from the
 * engine only its sessions, which session each event went to, and its funnel outcomes; labels
 * and flags stay in JS. The result of `derive(chunk)` is what deriveUsers gives for the same
 * users, byte for byte (test/sql-derivation.differential.test.ts).
 */
export async function prepareSqlRound(
  deps: SqlDeriveDeps,
  users: readonly string[],
  canonical: ReadonlyMap<string, string>,
  corrections: CorrectionPlan,
): Promise<(chunk: readonly string[]) => Promise<UsersDerivation>> {
  const rawEvents = deps.rawEvents ?? null;
  const eventsPerPlacement = deps.eventsPerPlacement ?? EVENTS_PER_PLACEMENT;
  const position = new Map(users.map((user, index) => [user, index]));
  let placed = new Set<string>();
  let sqlFunnels = false;
  // Learnt from each placement, as deriveRound learns its reads (users' histories differ widely); a first guess of 250 events a user.
  let usersPerPlacement = Math.max(1, Math.round(eventsPerPlacement / 250));
  // Places `chunk` and the users after it in the round, about eventsPerPlacement events' worth.
  const placeFrom = async (chunk: readonly string[]): Promise<void> => {
    const slice = new Set(chunk);
    for (let index = position.get(chunk[0]!) ?? users.length; index < users.length && slice.size < usersPerPlacement; index += 1) slice.add(users[index]!);
    const sliceUsers = [...slice];
    // The engine reads raw_events in place (gap mode): only the map goes over, no event is read here.
    if (rawEvents !== null && deps.rules.mode === 'gap') await deps.sql.loadMap(await identityOwners(deps.raw, sliceUsers, canonical), rawEvents);
    else {
      const owners = new Map<string, string>();
      async function* events(): AsyncIterable<StoredEvent> {
        for (let start = 0; start < sliceUsers.length; start += 500) {
          for (const [user, list] of await loadEventsOfUsers(deps.raw, sliceUsers.slice(start, start + 500), canonical, deps.sessionize)) {
            for (const event of list) {
              owners.set(event.identityKey, user);
              yield event;
            }
          }
        }
      }
      await deps.sql.load(events(), owners);
    }
    const count = await deps.sql.place(deps.rules);
    // Funnels in the engine unless one cannot be held to funnels.ts there (ADR 0017): then in JS, as before.
    sqlFunnels = deps.funnels !== undefined && deps.funnels.length > 0 && (await deps.sql.placeFunnels(deps.funnels));
    placed = slice;
    usersPerPlacement = Math.max(1, Math.min(4 * slice.size, Math.round((slice.size * eventsPerPlacement) / Math.max(1, count))));
  };
  if (users.length > 0) await placeFrom(users.slice(0, 1));
  // Where the engine holds the raw events, identity conflicts are looked up once for the round:
  // each chunk's look-up scanned every stored anonymous id there. Other raw stores look ids up by index.
  const load = roundEventLoader(deps.raw, canonical, deps.sessionize, rawEvents !== null);

  return async function derive(chunk: readonly string[]): Promise<UsersDerivation> {
    if (chunk.some((user) => !placed.has(user))) await placeFrom(chunk);
    const stored = await load(chunk);
    const sessionsOf = new Map<string, Session[]>();
    for await (const session of deps.sql.sessions(deps.rules, chunk)) push(sessionsOf, session.userId, session);
    const sessionOf = new Map<string, string>();
    for await (const [messageId, sessionId] of deps.sql.sessionIds(chunk)) sessionOf.set(messageId, sessionId);
    return gatherDerivations(
      chunk,
      (user) => {
        const events = stored.get(user) ?? [];
        const sessions = sessionsOf.get(user) ?? [];
        return { sessions, events: placedEvents(user, events, sessionOf), profile: buildProfile(user, events, sessions.length) };
      },
      sqlFunnels ? await journeysWithSqlFunnels(deps.sql, chunk, deps.deriveJourneys) : deps.deriveJourneys,
      corrections,
    );
  };
}

/** A user's events the engine placed, each in its session, in (time, message id) order. */
function placedEvents(user: string, events: readonly StoredEvent[], sessionOf: ReadonlyMap<string, string>): SessionEvent[] {
  const placed: SessionEvent[] = [];
  for (const event of events) {
    const sessionId = sessionOf.get(event.messageId);
    if (sessionId !== undefined) placed.push(sessionEventOf(event, user, sessionId));
  }
  return placed.sort(compareEvents);
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}
