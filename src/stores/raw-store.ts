import type { CorrectionLog } from './ports/correction-log.js';
import type { DirtyQueue } from './ports/dirty-queue.js';
import type { EventLog } from './ports/event-log.js';
import type { IdentityGraph } from './ports/identity-graph.js';
import type { MetaAndLeases } from './ports/meta-and-leases.js';
import type { ProfileStore } from './ports/profiles.js';
import type { StoreStats } from './ports/stats.js';
import type { TailReader } from './ports/tail-reader.js';

export { type EncodedEvent, encodeEvent, type EventLog, type StoredLine, type TimeRange, type WriteBatchResult } from './ports/event-log.js';
export type { IdentityGraph } from './ports/identity-graph.js';
export type { DirtyId, DirtyQueue } from './ports/dirty-queue.js';
export type { CorrectionLog } from './ports/correction-log.js';
export type { LeaseHolder, LeaseResult, MetaAndLeases } from './ports/meta-and-leases.js';
export type { ProfileStore } from './ports/profiles.js';
export { linesWithVersion, type ReceivedCounts, type ReceivedLines, type StoreCounts, type StoreStats } from './ports/stats.js';
export type { TailedEvent, TailFilter, TailKind, TailPage, TailReader, TailWhere } from './ports/tail-reader.js';

/**
 * What MongoDB holds in production: raw accepted events (deduplicated by messageId, earliest
 * received copy wins), rejected lines, identity links and profiles, plus the small amount of
 * coordination state (dirty ids, leases, versions) that several processes share.
 *
 * One port per concern (src/stores/ports/); RawStore is all of them, for the callers that use
 * most. A caller that needs one or two concerns takes just those ports (e.g. `DirtyQueue &
 * MetaAndLeases`), which the in-memory adapter (src/stores/memory/) makes cheap to fake.
 */
export interface RawStore extends EventLog, IdentityGraph, DirtyQueue, CorrectionLog, MetaAndLeases, StoreStats, TailReader, ProfileStore {
  readonly engine: string;
  close(): Promise<void>;
}
