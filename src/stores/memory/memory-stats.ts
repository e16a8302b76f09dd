import type { TimeRange } from '../ports/event-log.js';
import { linesWithVersion, type ReceivedCounts, receivedCountRows, type StoreStats } from '../ports/stats.js';
import { copiesOf, type MemoryState } from './memory-state.js';

const DAY_MS = 86_400_000;
const inRange = (value: number, range: TimeRange) => value >= (range.from ?? 0) && value < (range.to ?? Number.MAX_SAFE_INTEGER);

export function createMemoryStats(state: MemoryState): StoreStats {
  const receivedCounts = async (range: TimeRange, options: { bucketMs: number; lateAfterMs: number }): Promise<ReceivedCounts[]> => {
    const { rowOf, rows } = receivedCountRows(options.bucketMs);
    for (const e of state.events.values()) {
      if (!inRange(e.receivedAt, range)) continue;
      const row = rowOf(e.receivedAt, e.appVersion);
      row.accepted += 1;
      if (e.receivedAt - e.eventTime > options.lateAfterMs) row.late += 1;
      row.extraCopies += copiesOf(state, e.messageId) - 1;
    }
    for (const r of state.rejected.values()) {
      if (!inRange(r.receivedAt, range)) continue;
      const row = rowOf(r.receivedAt, r.appVersion);
      row.rejected[r.reason] = (row.rejected[r.reason] ?? 0) + 1;
    }
    return rows();
  };
  return {
    async counts() {
      let copies = 0;
      for (const hashes of state.copies.values()) copies += hashes.size;
      return { events: state.events.size, rejected: state.rejected.size, profiles: state.profiles.size, dirty: state.dirty.size, copies };
    },
    receivedCounts,
    async receivedLineCounts(bucketMs) {
      return linesWithVersion(await receivedCounts({}, { bucketMs, lateAfterMs: 0 }));
    },
    async acceptedPerDay(range) {
      const days = new Map<number, { activity: number; identity: number }>();
      for (const e of state.events.values()) {
        if (!inRange(e.eventTime, range)) continue;
        const day = Math.floor(e.eventTime / DAY_MS);
        const counts = days.get(day) ?? { activity: 0, identity: 0 };
        if (e.type === 'track' || e.type === 'page' || e.type === 'screen') counts.activity += 1;
        else if (e.type === 'identify' || e.type === 'alias') counts.identity += 1;
        days.set(day, counts);
      }
      return [...days].sort(([a], [b]) => a - b).map(([day, counts]) => ({ day: new Date(day * DAY_MS).toISOString().slice(0, 10), ...counts }));
    },
  };
}
