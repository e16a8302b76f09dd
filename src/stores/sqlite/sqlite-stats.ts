import type { RejectReason } from '../../domain/event.js';
import type { TimeRange } from '../ports/event-log.js';
import { linesWithVersion, type ReceivedCounts, type ReceivedLines, type StoreStats } from '../ports/stats.js';
import type { SqliteContext } from './sqlite-context.js';
import { ACCEPTED_KIND, MESSAGE_KEY_FUNCTION, MINUTE_MS } from './sqlite-schema.js';

export function createSqliteStats({ db, guard }: SqliteContext): StoreStats {
  const receivedCounts = async (range: TimeRange, options: { bucketMs: number; lateAfterMs: number }): Promise<ReceivedCounts[]> =>
    guard('count received lines', () => {
      const bucket = Math.max(1, Math.trunc(options.bucketMs));
      const from = range.from ?? 0;
      const to = range.to ?? Number.MAX_SAFE_INTEGER;
      const rows = new Map<string, ReceivedCounts>();
      const rowOf = (bucketStart: number, appVersion: string | null) => {
        const key = `${bucketStart}\u0000${appVersion ?? '\u0001'}`;
        let row = rows.get(key);
        if (!row) rows.set(key, (row = { bucketStart, appVersion, accepted: 0, late: 0, extraCopies: 0, rejected: {} }));
        return row;
      };
      const accepted = db
        .prepare(
          `SELECT received_at - received_at % ? AS bucket, app_version, count(*) AS accepted, sum(received_at - event_time > ?) AS late
                  FROM raw_events WHERE received_at >= ? AND received_at < ? GROUP BY bucket, app_version`,
        )
        .all(bucket, options.lateAfterMs, from, to) as Array<{ bucket: number; app_version: string | null; accepted: number; late: number }>;
      for (const r of accepted) Object.assign(rowOf(r.bucket, r.app_version), { accepted: r.accepted, late: r.late });
      // CROSS JOIN keeps raw_copies (small) outside: SQLite would otherwise walk every event of the range and probe it.
      const copies = db
        .prepare(
          `SELECT e.received_at - e.received_at % ? AS bucket, e.app_version, count(*) - count(DISTINCT c.message_id) AS extra
                  FROM raw_copies c CROSS JOIN raw_events e ON e.message_key = ${MESSAGE_KEY_FUNCTION}(c.message_id) AND e.message_id = c.message_id WHERE e.received_at >= ? AND e.received_at < ? GROUP BY bucket, e.app_version`,
        )
        .all(bucket, from, to) as Array<{ bucket: number; app_version: string | null; extra: number }>;
      for (const r of copies) rowOf(r.bucket, r.app_version).extraCopies = r.extra;
      const rejected = db
        .prepare(
          `SELECT received_at - received_at % ? AS bucket, app_version, reason, count(*) AS n FROM rejected
                  WHERE received_at >= ? AND received_at < ? GROUP BY bucket, app_version, reason`,
        )
        .all(bucket, from, to) as Array<{ bucket: number; app_version: string | null; reason: RejectReason; n: number }>;
      for (const r of rejected) rowOf(r.bucket, r.app_version).rejected[r.reason] = r.n;
      return [...rows.values()];
    });

  return {
    async counts() {
      const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      // Nothing is ever deleted from these two (see sqlite-tail.ts), so the last rowid is the count:
      // one index step instead of a scan, since a stream reads this before every derive (docs/decisions/0013).
      const last = (table: string) => (db.prepare(`SELECT coalesce(max(rowid), 0) AS n FROM ${table}`).get() as { n: number }).n;
      return { events: last('raw_events'), rejected: last('rejected'), profiles: count('profiles'), dirty: count('dirty_ids'), copies: count('raw_copies') };
    },

    receivedCounts,

    async receivedLineCounts(bucketMs: number): Promise<ReceivedLines[]> {
      // Minutes add up to buckets of whole minutes only; another width reads every stored line.
      if (bucketMs % MINUTE_MS !== 0) return linesWithVersion(await receivedCounts({}, { bucketMs, lateAfterMs: 0 }));
      return guard('count received lines', () => {
        const rows = new Map<string, ReceivedLines>();
        const counted = db
          .prepare('SELECT minute - minute % ? AS bucket, app_version, kind, sum(lines) AS n FROM received_minutes GROUP BY bucket, app_version, kind HAVING n != 0')
          .all(bucketMs) as Array<{ bucket: number; app_version: string; kind: string; n: number }>;
        for (const r of counted) {
          const key = `${r.bucket}\u0000${r.app_version}`;
          let row = rows.get(key);
          if (!row) rows.set(key, (row = { bucketStart: r.bucket, appVersion: r.app_version, accepted: 0, rejected: {} }));
          if (r.kind === ACCEPTED_KIND) row.accepted = r.n;
          else row.rejected[r.kind as RejectReason] = r.n;
        }
        return [...rows.values()];
      });
    },

    async acceptedPerDay(range: TimeRange) {
      return guard('count accepted events per day', () => {
        // A few days of a large store: the event_time index; otherwise one pass over the table beats its lookups.
        const narrow = range.from !== undefined && range.to !== undefined && range.to - range.from <= 2 * 86_400_000;
        const rows = db
          .prepare(
            `SELECT event_time / 86400000 AS day, sum(type IN ('track', 'page', 'screen')) AS activity, sum(type IN ('identify', 'alias')) AS identity
                    FROM raw_events ${narrow ? '' : 'NOT INDEXED'} WHERE event_time >= ? AND event_time < ? GROUP BY day ORDER BY day`,
          )
          .all(range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER) as Array<{ day: number; activity: number; identity: number }>;
        return rows.map((r) => ({ day: new Date(r.day * 86_400_000).toISOString().slice(0, 10), activity: r.activity, identity: r.identity }));
      });
    },
  };
}
