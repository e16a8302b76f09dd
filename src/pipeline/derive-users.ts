import { type CorrectionPlan, correctEvents } from '../corrections/apply-corrections.js';
import type { CorrectionRegistry } from '../corrections/kinds/kind.js';
import type { StoredEvent } from '../domain/event.js';
import type { Finding, FunnelOutcome } from '../domain/journey.js';
import type { Profile } from '../domain/profile.js';
import type { Session, SessionEvent } from '../domain/session.js';
import type { createDeriveJourneys } from '../journeys/derive-journeys.js';
import type { UserDerivation } from '../stores/analytics-store.js';
import type { RawStore } from '../stores/raw-store.js';
import { buildProfile } from './build-profile.js';
import { attachEventFacts, type EventFacts, identityConflicts, markIdentityConflicts, NO_FACTS } from './event-facts.js';
import type { createSessionize } from './sessionize.js';

export interface DeriveUsersDeps {
  sessionize: ReturnType<typeof createSessionize>;
  deriveJourneys: ReturnType<typeof createDeriveJourneys>;
  /** The correction kinds the plan is compiled with (default: the shipped ones). */
  correctionKinds?: CorrectionRegistry;
}

export interface UsersDerivation {
  derivation: UserDerivation;
  profiles: Profile[];
  /** Users left with no events (their profile goes). */
  removed: string[];
}

/**
 * The derivation of a set of users from their stored events: steward event edits, sessions,
 * journeys, profiles. Pure — incremental runs, reprocess and `fix --dry-run` all call it, so
 * they cannot disagree.
 */
export function deriveUsers(deps: DeriveUsersDeps, users: readonly string[], eventsByUser: ReadonlyMap<string, StoredEvent[]>, corrections: CorrectionPlan): UsersDerivation {
  return gatherDerivations(
    users,
    (user) => {
      const stored = eventsByUser.get(user) ?? [];
      const corrected = correctEvents(corrections, user, stored);
      const derived = deps.sessionize(user, corrected, corrections);
      // The profile describes what was received (dropped events included): it is the raw side.
      return { ...derived, profile: buildProfile(user, stored, derived.sessions.length) };
    },
    deps.deriveJourneys,
    corrections,
  );
}

/** One user's sessions and placed events (from sessionize, or from SQL), and the profile of their stored events (null: none stored). */
export interface UserCut {
  sessions: Session[];
  events: SessionEvent[];
  profile: Profile | null;
}

/** Labels, flags and funnels over each user's cut, gathered for one write: the JS derivation and the SQL one share this. */
export function gatherDerivations(users: readonly string[], cutOf: (user: string) => UserCut, deriveJourneys: DeriveUsersDeps['deriveJourneys'], corrections: CorrectionPlan): UsersDerivation {
  const sessions: Session[] = [];
  const events: SessionEvent[] = [];
  const findings: Finding[] = [];
  const funnelOutcomes: FunnelOutcome[] = [];
  const profiles: Profile[] = [];
  const removed: string[] = [];
  for (const user of users) {
    const cut = cutOf(user);
    const journeys = deriveJourneys(user, cut.sessions, cut.events, corrections);
    // Appended one by one: a bot's tens of thousands of events would overflow a spread's argument list.
    for (const session of journeys.sessions) sessions.push(session);
    for (const event of cut.events) events.push(event);
    for (const finding of journeys.findings) findings.push(finding);
    for (const outcome of journeys.funnelOutcomes) funnelOutcomes.push(outcome);
    if (cut.profile) profiles.push(cut.profile);
    else removed.push(user);
  }
  return { derivation: { sessions, events, findings, funnelOutcomes }, profiles, removed };
}

/** Groups events by their owner (canonical user), dropping those of ids outside the map. */
export function groupByOwner(events: Iterable<StoredEvent>, ownerOf: ReadonlyMap<string, string>): Map<string, StoredEvent[]> {
  const byUser = new Map<string, StoredEvent[]>();
  for (const event of events) {
    const owner = ownerOf.get(event.identityKey);
    if (owner === undefined) continue;
    const list = byUser.get(owner);
    if (list) list.push(event);
    else byUser.set(owner, [event]);
  }
  return byUser;
}

const ownerIndexes = new WeakMap<ReadonlyMap<string, string>, Map<string, string[]>>();

/**
 * `canonical` inverted, built once per map: a derive round loads its users a few hundred at a
 * time against one map of every id the round looked at, so each load stays proportional to
 * its own users rather than to the round. A map is not changed once it has been used to load.
 */
function idsByOwner(canonical: ReadonlyMap<string, string>): Map<string, string[]> {
  let index = ownerIndexes.get(canonical);
  if (index === undefined) {
    index = new Map();
    for (const [id, owner] of canonical) {
      const ids = index.get(owner);
      if (ids) ids.push(id);
      else index.set(owner, [id]);
    }
    ownerIndexes.set(canonical, index);
  }
  return index;
}

/**
 * The stored events of these users under an identity mapping that may not be persisted yet:
 * persisted members, with `canonical` (a plan's new owners) taking precedence.
 */
export async function loadEventsOfUsers(raw: RawStore, users: readonly string[], canonical: ReadonlyMap<string, string>, facts: EventFacts = NO_FACTS): Promise<Map<string, StoredEvent[]>> {
  const ownerOf = await identityOwners(raw, users, canonical);
  const identityKeys = [...ownerOf.keys()];
  const events = await raw.eventsByIdentity(identityKeys);
  await attachEventFacts(raw, events, identityKeys, facts);
  return groupByOwner(events, ownerOf);
}

/**
 * loadEventsOfUsers for the chunks of one round. With `conflictsOnceARound` (a raw store whose
 * identity-conflict look-up scans every stored event), conflicts are looked up once, for the whole
 * store, at the first chunk, not once a chunk: an id's conflict is the same whichever ids are asked
 * with it (ADR 0024).
 */
export function roundEventLoader(
  raw: RawStore,
  canonical: ReadonlyMap<string, string>,
  facts: EventFacts,
  conflictsOnceARound: boolean,
): (chunk: readonly string[]) => Promise<Map<string, StoredEvent[]>> {
  const maxUsers = facts.maxUsersPerAnonymousId;
  if (!conflictsOnceARound || maxUsers === null) return (chunk) => loadEventsOfUsers(raw, chunk, canonical, facts);
  const chunkFacts: EventFacts = { clientSessionIdPaths: facts.clientSessionIdPaths, maxUsersPerAnonymousId: null };
  let conflicts: Promise<Map<string, string[]>> | undefined;
  return async (chunk) => {
    const stored = await loadEventsOfUsers(raw, chunk, canonical, chunkFacts);
    const found = await (conflicts ??= identityConflicts(raw, maxUsers));
    for (const events of stored.values()) markIdentityConflicts(events, found);
    return stored;
  };
}

/** The identity keys loadEventsOfUsers reads for these users, each with its owner among them (identity key → user). */
export async function identityOwners(raw: RawStore, users: readonly string[], canonical: ReadonlyMap<string, string>): Promise<Map<string, string>> {
  const persisted = await raw.membersOf(users);
  const ownerOf = new Map<string, string>();
  for (const [user, ids] of persisted) for (const id of ids) ownerOf.set(id, canonical.get(id) ?? user);
  const planned = idsByOwner(canonical);
  for (const user of users) for (const id of planned.get(user) ?? []) ownerOf.set(id, user);
  const wanted = new Set(users);
  for (const [id, owner] of ownerOf) if (!wanted.has(owner)) ownerOf.delete(id);
  return ownerOf;
}
