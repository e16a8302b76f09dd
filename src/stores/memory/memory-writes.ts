import type { AcceptedEvent, RejectedLine } from '../../domain/event.js';
import { type IdentityLink, isEarlierCopy, isEarlierLink, noteLinksOf } from '../../domain/precedence.js';
import type { DirtyQueue } from '../ports/dirty-queue.js';
import { type EncodedEvent, encodeEvent, type EventLog, type StoredCopy, type WriteBatchResult } from '../ports/event-log.js';
import { groupAnonymousIdUsers, type IdentityGraph } from '../ports/identity-graph.js';
import { bump, compareBinary, type MemoryState } from './memory-state.js';

/** The writing half of the event log, with the same effects as the embedded store's one transaction per batch. */
export function createMemoryWrites(state: MemoryState): Required<Pick<EventLog, 'writeBatch' | 'writeEncodedBatch' | 'storedCopies'>> {
  const writeEncodedBatch = async (accepted: readonly EncodedEvent[], rejected: readonly RejectedLine[]): Promise<WriteBatchResult> => {
    const result: WriteBatchResult = { inserted: 0, replaced: 0, duplicates: 0, rejected: 0, rejectedDuplicates: 0 };
    const dirty = new Set<string>();
    const links = new Map<string, IdentityLink>();
    const filedUnder = (e: EncodedEvent) => [e.identityKey, e.userId, e.anonymousId, e.previousId];
    for (const event of accepted) {
      const existing = state.events.get(event.messageId);
      if (existing === undefined) {
        state.events.set(event.messageId, { ...event, seq: bump(state, 'event_seq') });
        result.inserted += 1;
      } else {
        if (existing.rawHash !== event.rawHash) {
          const hashes = state.copies.get(event.messageId) ?? new Set<string>();
          const before = hashes.size;
          hashes.add(existing.rawHash).add(event.rawHash);
          state.copies.set(event.messageId, hashes);
          if (hashes.size > before) for (const id of filedUnder(existing)) if (id) dirty.add(id);
        }
        if (!isEarlierCopy(event, existing)) {
          result.duplicates += 1;
          continue;
        }
        state.events.set(event.messageId, { ...event, seq: existing.seq });
        result.replaced += 1;
        for (const id of filedUnder(existing)) if (id) dirty.add(id);
      }
      dirty.add(event.identityKey);
      if (event.anonymousId) dirty.add(event.anonymousId);
      if (event.previousId) dirty.add(event.previousId);
      noteLinksOf(links, event);
    }
    saveLinks(state, links);
    markIds(state, dirty);
    for (const line of rejected) {
      if (state.rejected.has(line.rawHash)) result.rejectedDuplicates += 1;
      else {
        state.rejected.set(line.rawHash, { ...line, seq: bump(state, 'rejected_seq') });
        result.rejected += 1;
      }
    }
    return result;
  };
  return {
    writeBatch: async (accepted: readonly AcceptedEvent[], rejected) => writeEncodedBatch(accepted.map(encodeEvent), rejected),
    writeEncodedBatch,
    async storedCopies(keys) {
      return keys.map(({ rawHash, messageId }): StoredCopy | null => {
        const stored = messageId === null ? undefined : state.events.get(messageId);
        return stored !== undefined && stored.rawHash === rawHash ? { receivedAt: stored.receivedAt, eventTime: stored.eventTime } : null;
      });
    },
  };
}

/** Each link is stored unless the stored one wins (domain/precedence.ts). */
function saveLinks(state: MemoryState, links: ReadonlyMap<string, IdentityLink>): void {
  for (const [from, link] of links) {
    const known = state.links.get(from);
    if (!known || isEarlierLink(link, known)) state.links.set(from, link);
  }
}

function markIds(state: MemoryState, ids: ReadonlySet<string>): void {
  if (ids.size === 0) return;
  const mark = bump(state, 'dirty_mark');
  for (const id of ids) state.dirty.set(id, mark);
}

export function createMemoryDirtyQueue(state: MemoryState): DirtyQueue {
  return {
    async listDirtyIds(limit) {
      return [...state.dirty]
        .sort(([a], [b]) => compareBinary(a, b))
        .slice(0, limit)
        .map(([id, mark]) => ({ id, mark }));
    },
    async markDirty(ids) {
      markIds(state, new Set(ids));
    },
    async clearDirtyIds(ids) {
      for (const { id, mark } of ids) if (state.dirty.get(id) === mark) state.dirty.delete(id);
    },
  };
}

export function createMemoryIdentityGraph(state: MemoryState): IdentityGraph {
  return {
    async anonymousIdUsers({ minUsers, anonymousIds }) {
      const wanted = anonymousIds === undefined ? null : new Set(anonymousIds);
      const rows: Array<{ anonymousId: string; userId: string; firstAt: number }> = [];
      for (const e of state.events.values()) {
        if (e.userId === null || e.anonymousId === null || (wanted !== null && !wanted.has(e.anonymousId))) continue;
        rows.push({ anonymousId: e.anonymousId, userId: e.userId, firstAt: e.eventTime });
      }
      return groupAnonymousIdUsers(rows, minUsers);
    },
    async linkTargets(ids) {
      const targets = new Map<string, string>();
      for (const id of ids) {
        const link = state.links.get(id);
        if (link) targets.set(id, link.to);
      }
      return targets;
    },
    async linkSources(ids) {
      const wanted = new Set(ids);
      return [...state.links].filter(([, link]) => wanted.has(link.to)).map(([from]) => from);
    },
    async canonicalOf(ids) {
      const canonical = new Map<string, string>();
      for (const id of ids) if (state.canonical.has(id)) canonical.set(id, state.canonical.get(id)!);
      return canonical;
    },
    async membersOf(userIds) {
      const wanted = new Set(userIds);
      const members = new Map<string, string[]>();
      for (const [id, canonicalId] of state.canonical) if (wanted.has(canonicalId)) members.set(canonicalId, [...(members.get(canonicalId) ?? []), id]);
      return members;
    },
    async saveCanonical(assignments) {
      for (const { id, canonicalId } of assignments) state.canonical.set(id, canonicalId);
    },
  };
}
