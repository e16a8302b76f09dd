import { compileCorrections } from '../corrections/apply-corrections.js';
import type { CorrectionRegistry } from '../corrections/kinds/kind.js';
import { effectiveCorrections } from '../domain/correction.js';
import type { AcceptedEvent, StoredEvent } from '../domain/event.js';
import { clientSessionIdOf } from './client-session-id.js';
import { attachIdentityConflicts } from './event-facts.js';
import { deriveUsers, groupByOwner } from './derive-users.js';
import type { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { type AnalyticsStore, type DayCounts, derivationOfDay, type UserDerivation } from '../stores/analytics-store.js';
import type { RawStore } from '../stores/raw-store.js';
import type { createProcessLine } from './process-line.js';
import type { createSessionize } from './sessionize.js';

const DAY_MS = 86_400_000;

export interface ReprocessDeps {
  raw: RawStore;
  analytics: AnalyticsStore;
  processLine: ReturnType<typeof createProcessLine>;
  sessionize: ReturnType<typeof createSessionize>;
  deriveJourneys: ReturnType<typeof createDeriveJourneys>;
  /** The correction kinds the plan is compiled with (default: the shipped ones). */
  correctionKinds?: CorrectionRegistry;
  /** Users with events this close to a day are re-derived with it (sessions crossing midnight). */
  lookbackMs: number;
  usersPerChunk?: number;
}

/** The UTC day partitions that cover [from, to): partitions are whole UTC days, so the range is widened to them. */
export function daysCovering(from: number, to: number): string[] {
  const days: string[] = [];
  for (let start = Math.floor(from / DAY_MS) * DAY_MS; start < to; start += DAY_MS) days.push(new Date(start).toISOString().slice(0, 10));
  return days;
}

export interface DayDerivation {
  day: string;
  /** Derived rows of the day, per table. */
  counts: DayCounts;
  /** Stored events that today's validation (e.g. a stricter tracking plan) no longer accepts; they stay in the raw store. */
  nowRejected: number;
  users: number;
}

/**
 * Rebuilds day partitions of the analytics store from the raw store, with today's config.
 * Each touched user's whole history is derived again, exactly as an incremental run would,
 * and only the rows that belong to the day are kept: a session crossing a range edge is
 * owned by the day it starts in and is never cut or duplicated. Stored lines are validated
 * again, so a tracking-plan change applies to old data too.
 */
export function createReprocess(deps: ReprocessDeps) {
  const usersPerChunk = deps.usersPerChunk ?? 250;

  /** Streams the day's derivation chunk by chunk (memory: one chunk of users). */
  async function* deriveDay(day: string): AsyncGenerator<{ derivation: UserDerivation; nowRejected: number; users: number }> {
    const corrections = compileCorrections(effectiveCorrections(await deps.raw.listCorrections()), deps.correctionKinds);
    const dayStart = Date.parse(`${day}T00:00:00.000Z`);
    const keys = await deps.raw.identityKeysInRange({ from: dayStart - deps.lookbackMs, to: dayStart + DAY_MS + deps.lookbackMs });
    const owners = await deps.raw.canonicalOf(keys);
    const users = [...new Set(keys.map((key) => owners.get(key) ?? key))].sort();
    for (let start = 0; start < users.length; start += usersPerChunk) {
      const chunk = users.slice(start, start + usersPerChunk);
      const members = await deps.raw.membersOf(chunk);
      const ownerOf = new Map<string, string>();
      for (const user of chunk) ownerOf.set(user, user);
      for (const [user, ids] of members) for (const id of ids) ownerOf.set(id, user);
      let nowRejected = 0;
      const revalidated: StoredEvent[] = [];
      for (const { raw, receivedAt, copies } of await deps.raw.rawLinesByIdentity([...ownerOf.keys()])) {
        const outcome = deps.processLine(raw, receivedAt);
        if (outcome.ok) revalidated.push(toStoredEvent(outcome.event, copies, deps.sessionize.clientSessionIdPaths));
        else nowRejected += 1;
      }
      await attachIdentityConflicts(deps.raw, revalidated, deps.sessionize.maxUsersPerAnonymousId);
      const { derivation } = deriveUsers(deps, chunk, groupByOwner(revalidated, ownerOf), corrections);
      yield { derivation, nowRejected, users: chunk.length };
    }
  }

  return {
    /** What rebuilding the day would store, without writing. */
    async planDay(day: string): Promise<DayDerivation> {
      const result: DayDerivation = { day, counts: emptyCounts(), nowRejected: 0, users: 0 };
      for await (const chunk of deriveDay(day)) {
        addCounts(result.counts, countsOf(derivationOfDay(chunk.derivation, day)));
        result.nowRejected += chunk.nowRejected;
        result.users += chunk.users;
      }
      return result;
    },

    /** Rebuilds the day: stage every chunk, then swap the partition in, table by table. */
    async rebuildDay(day: string): Promise<DayDerivation> {
      const rebuild = await deps.analytics.rebuildDay(day);
      const version = await deps.raw.nextVersion();
      let nowRejected = 0;
      let users = 0;
      for await (const chunk of deriveDay(day)) {
        await rebuild.stage(chunk.derivation, version);
        nowRejected += chunk.nowRejected;
        users += chunk.users;
      }
      const committed = await rebuild.commit();
      return { day, counts: committed, nowRejected, users };
    },
  };
}

function toStoredEvent(event: AcceptedEvent, copies: number, clientSessionIdPaths: readonly string[] | null): StoredEvent {
  const stored: StoredEvent = {
    messageId: event.messageId,
    type: event.type,
    event: event.event,
    identityKey: event.identityKey,
    userId: event.userId,
    anonymousId: event.anonymousId,
    eventTime: event.eventTime,
    receivedAt: event.receivedAt,
    timeSource: event.timeSource,
    skewMs: event.skewMs,
    appVersion: event.appVersion,
    propertiesJson: JSON.stringify(event.properties),
    traitsJson: JSON.stringify(event.traits),
    copies,
  };
  if (clientSessionIdPaths !== null) stored.clientSessionId = clientSessionIdOf(JSON.parse(event.raw), clientSessionIdPaths);
  return stored;
}

export function emptyCounts(): DayCounts {
  return { sessions: 0, events: 0, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 };
}

function addCounts(target: DayCounts, more: DayCounts): void {
  for (const key of Object.keys(target) as Array<keyof DayCounts>) target[key] += more[key];
}

export function countsOf(derivation: UserDerivation): DayCounts {
  return {
    sessions: derivation.sessions.length,
    events: derivation.events.length,
    findings: derivation.findings.length,
    funnel_outcomes: derivation.funnelOutcomes.length,
    labels: derivation.findings.filter((f) => f.kind === 'label').length,
    flags: derivation.findings.filter((f) => f.kind === 'flag').length,
  };
}
