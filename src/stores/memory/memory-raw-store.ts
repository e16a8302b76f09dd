import type { RawStore } from '../raw-store.js';
import { createMemoryCorrectionLog, createMemoryEventReads, createMemoryMetaAndLeases, createMemoryProfiles, createMemoryTailReader } from './memory-reads.js';
import { createMemoryState } from './memory-state.js';
import { createMemoryStats } from './memory-stats.js';
import { createMemoryDirtyQueue, createMemoryIdentityGraph, createMemoryWrites } from './memory-writes.js';

/**
 * A raw store in this process's memory, for unit tests: the same contract as the SQLite and
 * MongoDB adapters (it runs the same conformance suites), nothing persisted, nothing shared
 * with another process. Each port is its own part over one state, so a test can also take just
 * the ports it needs.
 */
export function openMemoryRawStore(): RawStore {
  const state = createMemoryState();
  return {
    engine: 'memory',
    ...createMemoryWrites(state),
    ...createMemoryEventReads(state),
    ...createMemoryIdentityGraph(state),
    ...createMemoryDirtyQueue(state),
    ...createMemoryCorrectionLog(state),
    ...createMemoryMetaAndLeases(state),
    ...createMemoryStats(state),
    ...createMemoryTailReader(state),
    ...createMemoryProfiles(state),
    async close() {},
  };
}
