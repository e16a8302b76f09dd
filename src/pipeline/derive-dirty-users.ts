import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { compileCorrections, type CorrectionPlan } from '../corrections/apply-corrections.js';
import type { CorrectionRegistry } from '../corrections/kinds/kind.js';
import { type Correction, effectiveCorrections } from '../domain/correction.js';
import type { Finding } from '../domain/journey.js';
import type { Profile } from '../domain/profile.js';
import type { createDeriveJourneys } from '../journeys/derive-journeys.js';
import type { AnalyticsStore, UserDerivation } from '../stores/analytics-store.js';
import type { ReplaceResult } from '../stores/ports/derived-writes.js';
import { appendEncoded, type EncodedDerivation, type EncodedDerivedWrites, emptyEncoded } from '../stores/ports/encoded-derivation.js';
import type { RawStore } from '../stores/raw-store.js';
import { deriveUsers, roundEventLoader, type UsersDerivation } from './derive-users.js';
import { prepareSqlRound, sqlCanDerive, type SqlDeriveDeps } from './derive-users-sql.js';
import type { createSessionize } from './sessionize.js';
import { planIdentityChanges } from './stitch-identities.js';

export interface DeriveDeps {
  raw: RawStore;
  analytics: AnalyticsStore;
  sessionize: ReturnType<typeof createSessionize>;
  deriveJourneys: ReturnType<typeof createDeriveJourneys>;
  /** The correction kinds the plan is compiled with (default: the shipped ones). */
  correctionKinds?: CorrectionRegistry;
  /** Dirty ids taken per round. */
  idsPerRound?: number;
  /** Events to aim each read from the raw store at (the number of users read adapts to it). */
  eventsPerRead?: number;
  /** Derived events gathered before an analytics write (fewer, larger inserts make fewer parts). */
  eventsPerWrite?: number;
  /** Cut sessions and place events in the analytics engine (derivation.engine: sql); absent: in JS. */
  sql?: Pick<SqlDeriveDeps, 'sql' | 'rules' | 'rawEvents' | 'funnels'>;
  /** Reading back and deriving elsewhere (a worker thread), rows handed over encoded for `writes`; absent: on this thread. */
  offload?: { derive: OffloadedDerivation; writes: EncodedDerivedWrites };
  /** After each analytics write, and as a round starts: users done (summary.users) of `totalUsers` so far; `writing` once every user is derived and writes remain. */
  onProgress?: (summary: DeriveSummary, totalUsers: number, phase: 'deriving' | 'writing', written?: { sessionsFlagged: number }) => void;
}

/** Users derived elsewhere, already encoded for the analytics store: what deriveRound needs of a chunk. */
export interface EncodedChunk {
  users: string[];
  encoded: EncodedDerivation;
  /** Derived (placed) events: what groups chunks into writes. */
  events: number;
  profiles: Profile[];
  removed: string[];
  /** Distinct sessions carrying a flag. */
  flaggedSessions: number;
}

/** The work of one round of deriveRound (read back, derive, encode), done elsewhere. */
export interface OffloadedDerivation {
  /** Whether a round of this many users is worth handing over (starting a thread has a cost); false: derived on this thread. */
  takes(users: number): boolean;
  /**
   * The round's users in the chunks deriveRound cuts (usersPerReadAfter), in order, each read
   * back with `canonical` and derived under `corrections` (effective, compiled with the shipped kinds).
   */
  round(users: readonly string[], canonical: ReadonlyMap<string, string>, corrections: readonly Correction[], eventsPerRead: number): AsyncIterable<EncodedChunk>;
}

/**
 * How many users the next read of a round takes, after a chunk of `users` users gave `derived`
 * events: a user's history grows with the time the data spans, so a fixed count of users read at
 * once let a 4M-event backlog hold four times the events of a 1M one in memory.
 */
function usersPerReadAfter(users: number, derived: number, eventsPerRead: number): number {
  return Math.min(2_000, Math.max(1, Math.round((users * eventsPerRead) / Math.max(1, derived))));
}

/** Distinct sessions carrying a flag: what a write reports as sessions flagged. */
export function flaggedSessionCount(findings: readonly Finding[]): number {
  const flagged = new Set<string>();
  for (const finding of findings) if (finding.kind === 'flag') flagged.add(finding.sessionId);
  return flagged.size;
}

/** Users per read at the start of a round. */
const FIRST_USERS_PER_READ = 100;

/**
 * A round's users in reads of ~eventsPerRead events each (how many users make one is learnt as
 * the round goes: usersPerReadAfter), each derived by `derive`, in order: deriveRound and the
 * derive worker (docs/decisions/0025) cut the same chunks. `ready` is awaited before each chunk
 * is read (the worker's credit); the next chunk is read only when the consumer asks for it.
 */
export async function* deriveInChunks(
  users: readonly string[],
  eventsPerRead: number,
  derive: (chunk: string[]) => Promise<UsersDerivation>,
  ready?: () => Promise<void>,
): AsyncGenerator<{ users: string[]; derived: UsersDerivation }> {
  let usersPerRead = FIRST_USERS_PER_READ;
  for (let start = 0; start < users.length;) {
    if (ready) await ready();
    const chunk = users.slice(start, start + usersPerRead);
    start += chunk.length;
    const derived = await derive(chunk);
    usersPerRead = usersPerReadAfter(chunk.length, derived.derivation.events.length, eventsPerRead);
    yield { users: chunk, derived };
  }
}

export interface DeriveSummary {
  users: number;
  sessionsWritten: number;
  sessionsDeleted: number;
  eventsWritten: number;
  eventsDeleted: number;
}

/**
 * Re-derives every user touched since the last derive, from the raw store: identity first,
 * then each affected user's whole activity is sessionized again and the analytics rows made
 * equal to the result. Because it always starts from the stored set of events, the outcome
 * does not depend on arrival order or on how input was split into batches and runs.
 *
 * Crash safety: dirty ids are cleared only after the analytics rows and the identity map are
 * written, so an interrupted derive is simply done again.
 */
/**
 * Events per analytics write of a round, unless DeriveDeps.eventsPerWrite says otherwise. The write
 * in flight overlaps the next group's derivation (see deriveRound), so two groups are alive at
 * once. 50k (one INSERT per table on a first run) cut the derive phase's CPU by ~13% against 20k,
 * the engine's fixed cost per INSERT and lookup, for no rise in peak RSS (docs/decisions/0028).
 */
export const EVENTS_PER_WRITE = 50_000;

export function createDeriveDirtyUsers(deps: DeriveDeps) {
  const idsPerRound = deps.idsPerRound ?? 20_000;
  const eventsPerRead = deps.eventsPerRead ?? 10_000;
  const eventsPerWrite = deps.eventsPerWrite ?? EVENTS_PER_WRITE;

  // Users taken up by this derive so far, for progress (derives are serialised: one at a time).
  let totalUsers = 0;
  let phase: 'deriving' | 'writing' = 'deriving';

  return async function deriveDirtyUsers(): Promise<DeriveSummary> {
    const summary: DeriveSummary = { users: 0, sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 };
    totalUsers = 0;
    phase = 'deriving';
    for (;;) {
      const dirty = await deps.raw.listDirtyIds(idsPerRound);
      if (dirty.length === 0) return summary;
      // Corrections are read per round: a steward's fix applies to the next derive, in any process.
      const effective = effectiveCorrections(await deps.raw.listCorrections());
      const corrections = compileCorrections(effective, deps.correctionKinds);
      const plan = await planIdentityChanges(
        dirty.map((entry) => entry.id),
        deps.raw,
        corrections,
      );
      await addConflictedUsers(
        dirty.map((entry) => entry.id),
        plan.canonical,
        plan.affectedUsers,
      );
      totalUsers += plan.affectedUsers.size;
      phase = 'deriving';
      deps.onProgress?.(summary, totalUsers, phase);
      const users = [...plan.affectedUsers].sort();
      // Offloaded only where this thread would derive in JS too: the result is the same either way.
      if (deps.offload && !(deps.sql && sqlCanDerive(corrections)) && deps.offload.derive.takes(users.length)) await deriveRoundOffloaded(deps.offload, users, plan.canonical, effective, summary);
      else await deriveRound(users, plan.canonical, corrections, summary);
      await deps.raw.saveCanonical([...plan.canonical].map(([id, canonicalId]) => ({ id, canonicalId })));
      await deps.raw.clearDirtyIds(dirty);
    }
  };

  /**
   * A dirty anonymous id in an identity conflict: every user seen with it carries the
   * identity_conflict flag (its detail lists them all), so each is derived again when the id
   * gains a user, whichever arrived first.
   */
  async function addConflictedUsers(dirtyIds: readonly string[], canonical: ReadonlyMap<string, string>, affected: Set<string>): Promise<void> {
    const max = deps.sessionize.maxUsersPerAnonymousId;
    if (max === null) return;
    const users = (await deps.raw.anonymousIdUsers({ minUsers: max + 1, anonymousIds: dirtyIds })).flatMap((c) => c.users.map((u) => u.userId));
    if (users.length === 0) return;
    const owners = await deps.raw.canonicalOf(users);
    for (const user of users) affected.add(canonical.get(user) ?? owners.get(user) ?? user);
  }

  /**
   * Users are read and derived ~eventsPerRead events at a time and written in groups of about
   * `eventsPerWrite` events. At most one write is in flight: the engine stores one group on its
   * own threads while this thread reads and derives the next, and memory holds two groups at most.
   */
  async function deriveRound(users: readonly string[], canonical: Map<string, string>, corrections: CorrectionPlan, summary: DeriveSummary): Promise<void> {
    // derivation.engine sql: sessions cut in the analytics engine, unless corrections need the JS path (ADR 0017).
    const deriveChunk = deps.sql && sqlCanDerive(corrections) ? await prepareSqlRound({ ...deps, ...deps.sql }, users, canonical, corrections) : jsRound(canonical, corrections);
    const writes = oneWriteInFlight(deps.raw);
    let group = emptyGroup();
    const flush = async () => {
      const ready = group;
      group = emptyGroup();
      await writes.submit((version) => write(ready, version, summary));
    };
    for await (const { users: chunk, derived } of deriveInChunks(users, eventsPerRead, deriveChunk)) {
      appendTo(group, chunk, derived);
      if (group.derivation.events.length >= eventsPerWrite) await flush();
      // Let the write in flight take its next step. Reading and deriving are synchronous, so
      // this loop would otherwise only give way at the next flush: each engine call of a write
      // (a lookup, then one insert per table) finishes on the engine's thread but continues on
      // this one, so all but the first waited for the next flush (figures: docs/decisions/0009).
      if (writes.busy()) await yieldToEventLoop();
    }
    if (group.users.length > 0) await flush();
    phase = 'writing';
    deps.onProgress?.(summary, totalUsers, phase);
    await writes.drain();
  }

  /**
   * The JS derivation of a round's chunks. Where each identity-conflict look-up scans the raw
   * events, the round asks once (roundEventLoader); indexed stores (SQLite, MongoDB) keep a look-up a chunk.
   */
  function jsRound(canonical: ReadonlyMap<string, string>, corrections: CorrectionPlan): (chunk: readonly string[]) => Promise<UsersDerivation> {
    const load = roundEventLoader(deps.raw, canonical, deps.sessionize, deps.raw.anonymousIdLookup === 'scan');
    return async (chunk) => deriveUsers(deps, chunk, await load(chunk), corrections);
  }

  /**
   * deriveRound with reading back, deriving and encoding done by `offload` (a worker thread): the
   * same chunks, grouped into the same writes with the same versions, so the stored result is
   * the same as deriveRound's; this thread only diffs and writes (docs/decisions/0025).
   */
  async function deriveRoundOffloaded(
    offload: NonNullable<DeriveDeps['offload']>,
    users: readonly string[],
    canonical: ReadonlyMap<string, string>,
    corrections: readonly Correction[],
    summary: DeriveSummary,
  ): Promise<void> {
    const writes = oneWriteInFlight(deps.raw);
    let group = emptyEncodedGroup();
    const flush = async () => {
      const ready = group;
      group = emptyEncodedGroup();
      await writes.submit(async (version) => saved(ready, await offload.writes.replaceEncodedUsers(ready.users, ready.encoded, version), ready.flaggedSessions, summary));
    };
    for await (const chunk of offload.derive.round(users, canonical, corrections, eventsPerRead)) {
      for (const user of chunk.users) group.users.push(user);
      appendEncoded(group.encoded, chunk.encoded);
      group.events += chunk.events;
      for (const profile of chunk.profiles) group.profiles.push(profile);
      for (const user of chunk.removed) group.removed.push(user);
      group.flaggedSessions += chunk.flaggedSessions;
      if (group.events >= eventsPerWrite) await flush();
    }
    if (group.users.length > 0) await flush();
    phase = 'writing';
    deps.onProgress?.(summary, totalUsers, phase);
    await writes.drain();
  }

  async function write(group: PendingWrite, version: number, summary: DeriveSummary): Promise<void> {
    const written = await deps.analytics.replaceUsers(group.users, group.derivation, version);
    await saved(group, written, flaggedSessionCount(group.derivation.findings), summary);
  }

  /** After a group's analytics rows are written: its profiles, then the counts and progress. */
  async function saved(group: Pick<PendingWrite, 'users' | 'profiles' | 'removed'>, written: ReplaceResult, sessionsFlagged: number, summary: DeriveSummary): Promise<void> {
    await deps.raw.saveProfiles(group.profiles, group.removed);
    summary.users += group.users.length;
    summary.sessionsWritten += written.sessions.written;
    summary.sessionsDeleted += written.sessions.deleted;
    summary.eventsWritten += written.events.written;
    summary.eventsDeleted += written.events.deleted;
    deps.onProgress?.(summary, totalUsers, phase, { sessionsFlagged });
  }
}

/**
 * Writes one at a time, each under a version taken as it is submitted: a submit waits for the
 * write before it, so the engine stores one group while the caller derives the next.
 */
function oneWriteInFlight(raw: RawStore) {
  let inFlight: Promise<void> | null = null;
  return {
    busy: () => inFlight !== null,
    async submit(write: (version: number) => Promise<void>): Promise<void> {
      const version = await raw.nextVersion();
      if (inFlight) await inFlight;
      inFlight = write(version);
      // Awaited before the next write or at the end; this only keeps a failure from being reported unhandled meanwhile.
      inFlight.catch(() => {});
    },
    async drain(): Promise<void> {
      if (inFlight) await inFlight;
    },
  };
}

/** Chunks gathered for one write: a chunk of them all. */
function emptyEncodedGroup(): EncodedChunk {
  return { users: [], encoded: emptyEncoded(), events: 0, profiles: [], removed: [], flaggedSessions: 0 };
}

/** Chunks gathered for one write of a round (what `npm run bench -- --stages` writes too). */
export interface PendingWrite extends UsersDerivation {
  users: string[];
}

export function emptyGroup(): PendingWrite {
  return { users: [], derivation: { sessions: [], events: [], findings: [], funnelOutcomes: [] }, profiles: [], removed: [] };
}

/** Appended item by item: a bot's tens of thousands of events would overflow a spread's argument list. */
export function appendTo(group: PendingWrite, users: readonly string[], derived: UsersDerivation): void {
  const into = group.derivation as { [K in keyof UserDerivation]: Array<UserDerivation[K][number]> };
  for (const user of users) group.users.push(user);
  for (const session of derived.derivation.sessions) into.sessions.push(session);
  for (const event of derived.derivation.events) into.events.push(event);
  for (const finding of derived.derivation.findings) into.findings.push(finding);
  for (const outcome of derived.derivation.funnelOutcomes) into.funnelOutcomes.push(outcome);
  for (const profile of derived.profiles) group.profiles.push(profile);
  for (const user of derived.removed) group.removed.push(user);
}
