import type { RejectedLine } from '../../domain/event.js';
import type { Profile } from '../../domain/profile.js';
import { UsageError } from '../../errors.js';
import { isHolderAlive } from '../lease.js';
import type { CorrectionLog } from '../ports/correction-log.js';
import type { EventLog, TimeRange } from '../ports/event-log.js';
import type { LeaseHolder, MetaAndLeases } from '../ports/meta-and-leases.js';
import type { ProfileStore } from '../ports/profiles.js';
import type { TailFilter, TailPage, TailReader } from '../ports/tail-reader.js';
import { eventWheresMatch, rejectedLineMatches } from '../tail-match.js';
import { bump, compareBinary, copiesOf, type MemoryState, parseCorrection, sortedDistinct, storedFields } from './memory-state.js';

const inRange = (value: number, range: TimeRange) => value >= (range.from ?? 0) && value < (range.to ?? Number.MAX_SAFE_INTEGER);
const stripSeq = <T extends { seq: number }>({ seq: _seq, ...rest }: T): Omit<T, 'seq'> => rest;

export function createMemoryEventReads(state: MemoryState): Omit<EventLog, 'writeBatch' | 'writeEncodedBatch'> {
  const byIdentity = (keys: readonly string[]) => {
    const wanted = new Set(keys);
    return [...state.events.values()].filter((e) => wanted.has(e.identityKey));
  };
  return {
    async eventsByIdentity(keys) {
      return byIdentity(keys).map((e) => ({ ...storedFields(e), copies: copiesOf(state, e.messageId) }));
    },
    async rawLinesByIdentity(keys) {
      return byIdentity(keys).map((e) => ({ raw: e.raw, receivedAt: e.receivedAt, copies: copiesOf(state, e.messageId) }));
    },
    async identityKeysInRange(range) {
      return sortedDistinct([...state.events.values()].filter((e) => inRange(e.eventTime, range)).map((e) => e.identityKey));
    },
    async *streamRejected(range): AsyncIterable<RejectedLine> {
      const lines = [...state.rejected.values()].filter((r) => inRange(r.receivedAt, range));
      lines.sort((a, b) => a.receivedAt - b.receivedAt || compareBinary(a.rawHash, b.rawHash));
      for (const line of lines) yield stripSeq(line);
    },
  };
}

export function createMemoryCorrectionLog(state: MemoryState): CorrectionLog {
  return {
    async appendCorrection(correction) {
      const stored = { id: `c${state.corrections.length + 1}`, ...correction };
      state.corrections.push(JSON.stringify(stored));
      return stored;
    },
    async listCorrections() {
      return state.corrections.map(parseCorrection);
    },
    async identityKeysForEvents(filter) {
      const members = filter.userId === undefined ? null : new Set([filter.userId, ...[...state.canonical].filter(([, c]) => c === filter.userId).map(([id]) => id)]);
      const matches = [...state.events.values()].filter(
        (e) =>
          (filter.event === undefined || e.event === filter.event) &&
          (filter.appVersion === undefined || e.appVersion === filter.appVersion) &&
          (filter.since === undefined || e.eventTime >= filter.since) &&
          (filter.until === undefined || e.eventTime < filter.until) &&
          (members === null || members.has(e.identityKey)),
      );
      return sortedDistinct(matches.map((e) => e.identityKey));
    },
    async identityKeysOfMessages(messageIds) {
      const keys = new Map<string, string>();
      for (const id of messageIds) {
        const event = state.events.get(id);
        if (event) keys.set(id, event.identityKey);
      }
      return keys;
    },
  };
}

export function createMemoryMetaAndLeases(state: MemoryState): MetaAndLeases {
  return {
    async readMeta(key) {
      return state.meta.get(key) ?? null;
    },
    async writeMeta(key, value) {
      if (value === null) state.meta.delete(key);
      else state.meta.set(key, value);
    },
    async nextVersion() {
      return bump(state, 'version');
    },
    async acquireLease(name, holder, ttlMs) {
      const now = Date.now();
      const current = state.leases.get(name);
      if (current) {
        const other = JSON.parse(current.holder) as LeaseHolder;
        const mine = other.pid === holder.pid && other.hostname === holder.hostname && other.startedAt === holder.startedAt;
        if (!mine && current.expiresAt > now && isHolderAlive(other)) return { acquired: false, holder: other, expiresAt: current.expiresAt };
      }
      state.leases.set(name, { holder: JSON.stringify(holder), expiresAt: now + ttlMs });
      return { acquired: true };
    },
    async releaseLease(name, holder) {
      if (state.leases.get(name)?.holder === JSON.stringify(holder)) state.leases.delete(name);
    },
  };
}

export function createMemoryProfiles(state: MemoryState): ProfileStore {
  return {
    async saveProfiles(profiles, removedUserIds) {
      for (const profile of profiles) state.profiles.set(profile.userId, JSON.stringify(profile));
      for (const userId of removedUserIds) state.profiles.delete(userId);
    },
    async *streamProfiles() {
      for (const userId of [...state.profiles.keys()].sort(compareBinary)) yield JSON.parse(state.profiles.get(userId)!) as Profile;
    },
    async profileOf(userId) {
      const doc = state.profiles.get(userId);
      return doc === undefined ? null : (JSON.parse(doc) as Profile);
    },
  };
}

/** Tail reads: arrival order is the number each record got when first stored. */
export function createMemoryTailReader(state: MemoryState): TailReader {
  const common = (filter: TailFilter, r: { event: string | null; appVersion: string | null; receivedAt: number }) =>
    (filter.event === undefined || r.event === filter.event) &&
    (filter.appVersion === undefined || r.appVersion === filter.appVersion) &&
    (filter.receivedFrom === undefined || r.receivedAt >= filter.receivedFrom) &&
    (filter.receivedTo === undefined || r.receivedAt < filter.receivedTo);
  return {
    async tailEvents(after, filter, limit) {
      const ids = filter.ids;
      return page([...state.events.values()], parseCursor(after), limit, (e) =>
        common(filter, e) && (ids === undefined || ids.some((id) => id === e.userId || id === e.anonymousId || id === e.previousId)) && eventWheresMatch(e, filter.where ?? [])
          ? { ...storedFields(e), raw: e.raw }
          : null,
      );
    },
    async tailRejected(after, filter, limit) {
      const wheres = filter.where ?? [];
      return page([...state.rejected.values()], parseCursor(after), limit, (r) =>
        common(filter, r) && ((wheres.length === 0 && filter.ids === undefined) || rejectedLineMatches(r.raw, filter.ids, wheres)) ? stripSeq(r) : null,
      );
    },
    async tailEnd(kind) {
      return String(state.counters.get(kind === 'events' ? 'event_seq' : 'rejected_seq') ?? 0);
    },
  };
}

function parseCursor(after: string | null): number {
  if (after === null) return 0;
  if (!/^\d{1,15}$/.test(after))
    throw new UsageError(`"${after}" is not a tail position of the in-memory raw store`, { hint: 'use --offset beginning, --offset end, or a cursor value printed by an earlier tail' });
  return Number(after);
}

function page<R extends { seq: number }, T>(records: R[], start: number, limit: number, map: (record: R) => T | null): TailPage<T> {
  const ordered = records.filter((r) => r.seq > start).sort((a, b) => a.seq - b.seq);
  const end = ordered.length === 0 ? start : ordered[ordered.length - 1]!.seq;
  const size = Math.max(1, Math.floor(limit));
  const out: Array<{ cursor: string; value: T }> = [];
  for (const record of ordered) {
    const value = map(record);
    if (value !== null) out.push({ cursor: String(record.seq), value });
    if (out.length === size) break;
  }
  const next = out.length === size ? Number(out[out.length - 1]!.cursor) : end;
  return { records: out, cursor: String(next), more: next < end, behind: end - next };
}
