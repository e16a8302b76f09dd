import { compileCorrections } from '../corrections/apply-corrections.js';
import type { CorrectionRegistry } from '../corrections/kinds/kind.js';
import { type Correction, effectiveCorrections } from '../domain/correction.js';
import type { StoredEvent } from '../domain/event.js';
import { clientSessionIdOf } from './client-session-id.js';
import { deriveUsers, groupByOwner } from './derive-users.js';
import { identityConflicts, markIdentityConflicts } from './event-facts.js';
import type { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { type AnalyticsStore, type DayCounts, derivationOfDay, type UserDerivation } from '../stores/analytics-store.js';
import type { EncodedEvent, RawStore, StoredLine } from '../stores/raw-store.js';
import { type EncodedDayRows, encodedStagingOf, type StageEncoded } from '../stores/ports/encoded-derivation.js';
import { hasGroupedReads } from '../stores/ports/grouped-reads.js';
import type { LineProcessor } from './line-processor.js';
import type { createSessionize } from './sessionize.js';

const DAY_MS = 86_400_000;

export interface ReprocessDeps {
  raw: RawStore;
  analytics: AnalyticsStore;
  /** Validates the stored lines again (on its worker thread while this one derives the previous chunk). */
  lineProcessor: Pick<LineProcessor, 'process'>;
  /**
   * True when every event in the raw store was accepted under the validation config the line
   * processor validates with: its stored fields are then what validating its line again gives,
   * and are read instead (asked after each read, so a line stored meanwhile under another config is not trusted).
   */
  storedAsValidated?: () => Promise<boolean>;
  sessionize: ReturnType<typeof createSessionize>;
  deriveJourneys: ReturnType<typeof createDeriveJourneys>;
  /** The correction kinds the plan is compiled with (default: the shipped ones). */
  correctionKinds?: CorrectionRegistry;
  /** Users with events this close to a day are re-derived with it (sessions crossing midnight). */
  lookbackMs: number;
  usersPerChunk?: number;
  /**
   * Reading back, deriving and encoding a rebuilt day's chunks elsewhere (a worker thread), where
   * the stored fields are read chunk by chunk and the analytics store stages encoded rows; absent: on this thread.
   */
  offload?: OffloadedDays;
}

/** A chunk of a day's users and the identity keys filed under them (identity key → user). */
export interface DayChunk {
  chunk: readonly string[];
  ownerOf: Map<string, string>;
}

/** The work of deriveDay's fast path (read the stored fields, derive, cut to the day), done elsewhere, rows handed over encoded. */
export interface OffloadedDays {
  /** Whether a day of this many users is worth handing over (starting a thread has a cost); false: derived on this thread. */
  takes(users: number): boolean;
  /**
   * The chunks in order, each read back by its identity keys (`eventsByIdentity`), marked with
   * `conflicts`, derived under `corrections` (effective, compiled with the shipped kinds) and cut to `day`.
   */
  day(day: string, chunks: readonly DayChunk[], conflicts: ReadonlyMap<string, string[]> | null, corrections: readonly Correction[]): AsyncIterable<EncodedDayRows>;
}

/** A chunk of a day as deriveDay gives it: derived here, or cut and encoded by the offload. */
type DerivedDayChunk = ({ derivation: UserDerivation } | { rows: EncodedDayRows }) & { nowRejected: number; users: number };

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

  /** Each user of the chunk and the identity keys filed under them (identity key → user). */
  async function ownersOf(chunk: readonly string[]): Promise<Map<string, string>> {
    const members = await deps.raw.membersOf(chunk);
    const ownerOf = new Map<string, string>();
    for (const user of chunk) ownerOf.set(user, user);
    for (const [user, ids] of members) for (const id of ids) ownerOf.set(id, user);
    return ownerOf;
  }

  /**
   * Where the day's chunks are read from. The stored fields are read when nothing could validate
   * differently today (client session ids are read from the lines, so not in client mode).
   * `grouped`, on a store that can: one copy of all the chunks' rows, read chunk by chunk (ADR 0023).
   */
  async function openReader(groups: ReadonlyArray<readonly string[]>, grouped: boolean): Promise<ChunkReader> {
    const storedAsValidated = deps.sessionize.clientSessionIdPaths === null ? deps.storedAsValidated : undefined;
    if (grouped && hasGroupedReads(deps.raw)) {
      if (storedAsValidated) {
        const copy = await deps.raw.openGroupedReads(groups, 'events');
        // Asked after the copy: an event stored under another config before it would show here.
        if (await storedAsValidated()) return { storedEvents: (index) => copy.events(index), lines: (index) => copy.lines(index), close: () => copy.close() };
        await copy.close();
      }
      const copy = await deps.raw.openGroupedReads(groups, 'lines');
      return { storedEvents: async () => null, lines: (index) => copy.lines(index), close: () => copy.close() };
    }
    // A store with grouped reads (ClickHouse) reads whole granules per chunk otherwise (a dry run): raw's one column costs less there than the stored fields' 13.
    const perChunk = hasGroupedReads(deps.raw) ? undefined : storedAsValidated;
    return {
      async storedEvents(index) {
        if (!perChunk) return null;
        const events = await deps.raw.eventsByIdentity(groups[index]!);
        // Asked after the read, as above.
        return (await perChunk()) ? events : null;
      },
      lines: (index) => deps.raw.rawLinesByIdentity(groups[index]!),
      close: async () => {},
    };
  }

  /** A chunk's stored events, or its stored lines handed to the line processor. */
  async function loadChunk(reader: ChunkReader, index: number, chunk: readonly string[], ownerOf: Map<string, string>): Promise<LoadedChunk> {
    const stored = await reader.storedEvents(index);
    if (stored !== null) return { chunk, ownerOf, stored };
    const lines = await reader.lines(index);
    const validated = deps.lineProcessor.process(
      lines.map((line) => line.raw),
      lines.map((line) => line.receivedAt),
    );
    // Awaited by the consumer; this only keeps a failure from being reported unhandled meanwhile.
    validated.catch(() => {});
    return { chunk, ownerOf, lines, validated };
  }

  /** The chunk's events as today's validation accepts them, and how many stored lines it now rejects. */
  async function eventsOf(loaded: LoadedChunk): Promise<{ events: StoredEvent[]; nowRejected: number }> {
    if ('stored' in loaded) return { events: loaded.stored, nowRejected: 0 };
    const { accepted, acceptedLines } = await loaded.validated;
    return { events: storedEventsOf(accepted, acceptedLines, loaded.lines, deps.sessionize.clientSessionIdPaths), nowRejected: loaded.lines.length - accepted.length };
  }

  /**
   * Streams the day's derivation chunk by chunk (memory: two chunks of users). The next chunk's
   * events are read (and its lines validated, on the line processor's thread) while this one is
   * derived; chunks are derived and yielded in user order, so the result does not depend on timing.
   */
  async function* deriveDay(day: string, grouped: boolean, staging?: StageEncoded): AsyncGenerator<DerivedDayChunk> {
    const effective = effectiveCorrections(await deps.raw.listCorrections());
    const corrections = compileCorrections(effective, deps.correctionKinds);
    const dayStart = Date.parse(`${day}T00:00:00.000Z`);
    const keys = await deps.raw.identityKeysInRange({ from: dayStart - deps.lookbackMs, to: dayStart + DAY_MS + deps.lookbackMs });
    const owners = await deps.raw.canonicalOf(keys);
    const users = [...new Set(keys.map((key) => owners.get(key) ?? key))].sort();
    const chunks: DayChunk[] = [];
    for (let start = 0; start < users.length; start += usersPerChunk) {
      const chunk = users.slice(start, start + usersPerChunk);
      chunks.push({ chunk, ownerOf: await ownersOf(chunk) });
    }
    if (chunks.length === 0) return;
    // Anonymous ids shared by too many user ids, looked up once for the day rather than per chunk
    // (on ClickHouse each look-up scans the anonymous_id column); few, so all of them.
    const maxUsers = deps.sessionize.maxUsersPerAnonymousId;
    const conflicts = maxUsers === null ? null : await identityConflicts(deps.raw, maxUsers);
    // Every other chunk on the offload (the odd ones), where this thread reads the stored fields
    // chunk by chunk and the store stages encoded rows: two threads derive the day (ADR 0023).
    const storedAsValidated = deps.sessionize.clientSessionIdPaths === null ? deps.storedAsValidated : undefined;
    let offloaded: { chunks: AsyncIterator<EncodedDayRows>; next: Promise<IteratorResult<EncodedDayRows>> } | null = null;
    const takeNext = (chunks: AsyncIterator<EncodedDayRows>) => {
      // Asked for at once, so the worker starts on its first chunk while this thread derives chunk 0.
      const next = chunks.next();
      // Awaited at the chunk's turn; this only keeps a failure from being reported unhandled meanwhile.
      next.catch(() => {});
      return { chunks, next };
    };
    const offload = staging && storedAsValidated && !hasGroupedReads(deps.raw) && deps.offload?.takes(users.length) ? deps.offload : undefined;
    const onOffload = (index: number) => offloaded !== null && index % 2 === 1;
    const reader = await openReader(
      chunks.map(({ ownerOf }) => [...ownerOf.keys()]),
      grouped,
    );
    const load = (index: number) => {
      const loading = loadChunk(reader, index, chunks[index]!.chunk, chunks[index]!.ownerOf);
      // Awaited below (or before the reader closes); this only keeps a failure from being reported unhandled meanwhile.
      loading.catch(() => {});
      return loading;
    };
    // The next chunk this thread reads, read ahead while this one is derived.
    let next: { index: number; loading: Promise<LoadedChunk> } | null = null;
    try {
      // Started inside the try: whatever stops this generator stops the worker (finally).
      if (offload) {
        const odd = chunks.filter((_, index) => index % 2 === 1);
        offloaded = takeNext(offload.day(day, odd, conflicts, effective)[Symbol.asyncIterator]());
      }
      for (let index = 0; index < chunks.length; index += 1) {
        if (onOffload(index)) {
          const taken = await offloaded!.next;
          offloaded = takeNext(offloaded!.chunks);
          if (taken.done) throw new Error(`the derive worker ended before chunk ${index} of ${day}`);
          // Asked after the worker read the chunk, as this thread asks after its own read: from a chunk
          // read under another validation config on, every chunk is read (and validated again) here.
          if (await storedAsValidated!()) {
            yield { rows: taken.value, nowRejected: 0, users: chunks[index]!.chunk.length };
            continue;
          }
          const stopping = offloaded!.chunks;
          offloaded = null;
          await stopping.return?.();
        }
        const loaded: LoadedChunk = await (next?.index === index ? next.loading : load(index));
        if (next?.index === index) next = null;
        const ahead: number = onOffload(index + 1) ? index + 2 : index + 1;
        if (next === null && ahead < chunks.length) next = { index: ahead, loading: load(ahead) };
        const { events, nowRejected } = await eventsOf(loaded);
        if (conflicts !== null) markIdentityConflicts(events, conflicts);
        const { derivation } = deriveUsers(deps, loaded.chunk, groupByOwner(events, loaded.ownerOf), corrections);
        yield { derivation, nowRejected, users: loaded.chunk.length };
      }
    } finally {
      // A read still in flight (a failure, or the consumer stopped early) ends before its copy goes.
      await next?.loading.catch(() => {});
      await offloaded?.chunks.return?.();
      await reader.close();
    }
  }

  return {
    /** What rebuilding the day would store, without writing. */
    async planDay(day: string): Promise<DayDerivation> {
      const result: DayDerivation = { day, counts: emptyCounts(), nowRejected: 0, users: 0 };
      for await (const chunk of deriveDay(day, false)) {
        if (!('derivation' in chunk)) throw new Error('a dry run derives on this thread');
        addCounts(result.counts, countsOf(derivationOfDay(chunk.derivation, day)));
        result.nowRejected += chunk.nowRejected;
        result.users += chunk.users;
      }
      return result;
    },

    /**
     * Rebuilds the day: stage every chunk, then swap the partition in, table by table. One stage
     * is in flight while the next chunk is derived (the engine writes on its own threads), and
     * chunks are staged one after another in user order.
     */
    async rebuildDay(day: string): Promise<DayDerivation> {
      const rebuild = await deps.analytics.rebuildDay(day);
      const version = await deps.raw.nextVersion();
      let nowRejected = 0;
      let users = 0;
      let inFlight: Promise<void> | null = null;
      const staging = deps.offload ? encodedStagingOf(rebuild) : undefined;
      try {
        for await (const chunk of deriveDay(day, true, staging)) {
          if (inFlight) await inFlight;
          inFlight = 'rows' in chunk ? staging!(chunk.rows, version) : rebuild.stage(chunk.derivation, version);
          // Awaited before the next stage or the commit; this only keeps a failure from being reported unhandled meanwhile.
          inFlight.catch(() => {});
          nowRejected += chunk.nowRejected;
          users += chunk.users;
        }
      } finally {
        // Never leave a stage running past a failure: the caller may close the stores next.
        if (inFlight) await inFlight.catch(() => {});
        await rebuild.settled?.();
      }
      await inFlight;
      const committed = await rebuild.commit();
      return { day, counts: committed, nowRejected, users };
    },
  };
}

/** Where deriveDay reads chunk `index` (its identity keys fixed when opened). */
interface ChunkReader {
  /** The chunk's stored fields when they are what validating its lines again gives; null: validate the lines. */
  storedEvents(index: number): Promise<StoredEvent[] | null>;
  lines(index: number): Promise<StoredLine[]>;
  close(): Promise<void>;
}

type LoadedChunk = { chunk: readonly string[]; ownerOf: Map<string, string> } & ({ stored: StoredEvent[] } | { lines: StoredLine[]; validated: ReturnType<LineProcessor['process']> });

/** The lines today's validation accepts, as the stored events derivation reads (the fields `eventsByIdentity` gives). */
function storedEventsOf(accepted: readonly EncodedEvent[], acceptedLines: readonly number[], lines: readonly StoredLine[], clientSessionIdPaths: readonly string[] | null): StoredEvent[] {
  const events: StoredEvent[] = new Array(accepted.length);
  for (let i = 0; i < accepted.length; i += 1) {
    const event = accepted[i]!;
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
      propertiesJson: event.propertiesJson,
      traitsJson: event.traitsJson,
      copies: lines[acceptedLines[i]!]!.copies,
    };
    if (clientSessionIdPaths !== null) stored.clientSessionId = clientSessionIdOf(JSON.parse(event.raw), clientSessionIdPaths);
    events[i] = stored;
  }
  return events;
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
