import type { StoredEvent } from '../../domain/event.js';
import type { StoredLine } from './event-log.js';

/**
 * The stored events of many groups of identity keys, copied once (one pass over the store) so
 * that each group is then read on its own: reprocess reads a day's users chunk by chunk, and an
 * engine that reads whole granules per query (ClickHouse) would otherwise read every granule of
 * the store once per chunk (docs/decisions/0023). Groups are read in any order, each any number of times.
 */
export interface GroupedReads {
  /** eventsByIdentity of group `index`'s keys (opened with 'events'). */
  events(index: number): Promise<StoredEvent[]>;
  /** rawLinesByIdentity of group `index`'s keys (opened with 'lines'). */
  lines(index: number): Promise<StoredLine[]>;
  /** Lets the copy go; idempotent. */
  close(): Promise<void>;
}

/** Optional capability of a raw store: only one caller at a time (reprocess, under the derivation lease). */
export interface GroupedEventReads {
  openGroupedReads(groups: ReadonlyArray<readonly string[]>, what: 'events' | 'lines'): Promise<GroupedReads>;
}

export function hasGroupedReads(store: object): store is GroupedEventReads {
  return typeof (store as Partial<GroupedEventReads>).openGroupedReads === 'function';
}
