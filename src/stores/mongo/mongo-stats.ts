import type { RejectReason } from '../../domain/event.js';
import type { TimeRange } from '../ports/event-log.js';
import { linesWithVersion, type ReceivedCounts, receivedCountRows, type StoreStats } from '../ports/stats.js';
import { countDocs, guard, type MongoContext } from './mongo-context.js';
import { idsOfMarkDoc } from './mongo-dirty-queue.js';
import { countCopies } from './mongo-event-log.js';

const ACTIVITY_TYPES = new Set(['track', 'page', 'screen']);
const DAY_MS = 86_400_000;

export function createMongoStats(ctx: MongoContext): StoreStats {
  const { c } = ctx;
  /** Distinct dirty ids over every mark document (one per write, holding many ids). */
  const countDirty = async (): Promise<number> => {
    const ids = new Set<string>();
    for await (const doc of c.dirty.find({}, { projection: { id: 1, ids: 1 } })) for (const id of idsOfMarkDoc(doc)) ids.add(id);
    return ids.size;
  };
  /** receivedCounts; without copies, extraCopies stays 0 and the copies are not read (burst detection needs none). */
  const countReceived = async (range: TimeRange, options: { bucketMs: number; lateAfterMs: number }, { withCopies }: { withCopies: boolean }): Promise<ReceivedCounts[]> =>
    guard(ctx, 'count received lines', async () => {
      const received = { receivedAt: { $gte: range.from ?? 0, $lt: range.to ?? Number.MAX_SAFE_INTEGER } };
      const { rowOf, rows } = receivedCountRows(options.bucketMs);
      // Distinct lines of every retried message id: a whole-store aggregate anyway.
      const copies = withCopies ? await countCopies(ctx, {}, new Map()) : new Map<string, number>();
      for await (const doc of c.events.find(received, { projection: { receivedAt: 1, eventTime: 1, appVersion: 1 } })) {
        const row = rowOf(doc.receivedAt as number, (doc.appVersion as string | null) ?? null);
        row.accepted += 1;
        if ((doc.receivedAt as number) - (doc.eventTime as number) > options.lateAfterMs) row.late += 1;
        row.extraCopies += (copies.get(doc._id as string) ?? 1) - 1;
      }
      for await (const doc of c.rejected.find(received, { projection: { receivedAt: 1, appVersion: 1, reason: 1 } })) {
        const row = rowOf(doc.receivedAt as number, (doc.appVersion as string | null) ?? null);
        const reason = doc.reason as RejectReason;
        row.rejected[reason] = (row.rejected[reason] ?? 0) + 1;
      }
      return rows();
    });

  return {
    async counts() {
      return guard(ctx, 'count', async () => ({
        events: await countDocs(ctx, c.events),
        rejected: await countDocs(ctx, c.rejected),
        profiles: await countDocs(ctx, c.profiles),
        dirty: await countDirty(),
        copies: await countDocs(ctx, c.copies),
      }));
    },
    async receivedCounts(range, options) {
      return countReceived(range, options, { withCopies: true });
    },
    // Scans every stored line, as receivedCounts does (not kept at write time here: see the README).
    async receivedLineCounts(bucketMs) {
      return linesWithVersion(await countReceived({}, { bucketMs, lateAfterMs: 0 }, { withCopies: false }));
    },
    async acceptedPerDay(range) {
      return guard(ctx, 'count accepted events per day', async () => {
        const days = new Map<number, { activity: number; identity: number }>();
        const filter = { eventTime: { $gte: range.from ?? 0, $lt: range.to ?? Number.MAX_SAFE_INTEGER } };
        for await (const doc of c.events.find(filter, { projection: { eventTime: 1, type: 1 } })) {
          const day = Math.floor((doc.eventTime as number) / DAY_MS);
          let counts = days.get(day);
          if (!counts) days.set(day, (counts = { activity: 0, identity: 0 }));
          if (ACTIVITY_TYPES.has(doc.type as string)) counts.activity += 1;
          else counts.identity += 1;
        }
        return [...days].sort(([a], [b]) => a - b).map(([day, counts]) => ({ day: new Date(day * DAY_MS).toISOString().slice(0, 10), ...counts }));
      });
    },
  };
}
