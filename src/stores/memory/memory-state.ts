import type { Correction } from '../../domain/correction.js';
import type { RejectedLine, StoredEvent } from '../../domain/event.js';
import type { IdentityLink } from '../../domain/precedence.js';
import type { EncodedEvent } from '../ports/event-log.js';

/** A stored event: what was written, its arrival number (kept when an earlier copy replaces it). */
export type MemoryEvent = EncodedEvent & { seq: number };
export type MemoryRejected = RejectedLine & { seq: number };

/** Everything the in-memory raw store holds; the parts of the adapter share one. */
export interface MemoryState {
  events: Map<string, MemoryEvent>;
  /** Distinct line hashes per message id, once a second distinct line arrived. */
  copies: Map<string, Set<string>>;
  rejected: Map<string, MemoryRejected>;
  links: Map<string, IdentityLink>;
  canonical: Map<string, string>;
  profiles: Map<string, string>;
  dirty: Map<string, number>;
  corrections: string[];
  meta: Map<string, string>;
  leases: Map<string, { holder: string; expiresAt: number }>;
  counters: Map<string, number>;
}

export function createMemoryState(): MemoryState {
  return {
    events: new Map(),
    copies: new Map(),
    rejected: new Map(),
    links: new Map(),
    canonical: new Map(),
    profiles: new Map(),
    dirty: new Map(),
    corrections: [],
    meta: new Map(),
    leases: new Map(),
    counters: new Map(),
  };
}

export function bump(state: MemoryState, name: string): number {
  const value = (state.counters.get(name) ?? 0) + 1;
  state.counters.set(name, value);
  return value;
}

export function copiesOf(state: MemoryState, messageId: string): number {
  return Math.max(1, state.copies.get(messageId)?.size ?? 0);
}

export function storedFields(event: MemoryEvent): Omit<StoredEvent, 'copies'> {
  const { messageId, type, event: name, identityKey, userId, anonymousId, eventTime, receivedAt, timeSource, skewMs, appVersion, propertiesJson, traitsJson } = event;
  return { messageId, type, event: name, identityKey, userId, anonymousId, eventTime, receivedAt, timeSource, skewMs, appVersion, propertiesJson, traitsJson };
}

/** Byte order of UTF-8, as SQLite and MongoDB compare strings. */
export function compareBinary(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function sortedDistinct(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareBinary);
}

export function parseCorrection(doc: string): Correction {
  return JSON.parse(doc) as Correction;
}
