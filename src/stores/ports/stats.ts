import type { RejectReason } from '../../domain/event.js';
import type { TimeRange } from './event-log.js';

/** One bucket of receivedLineCounts: lines of one app version received in it. */
export interface ReceivedLines {
  /** Start of the bucket (epoch ms, a multiple of bucketMs). */
  bucketStart: number;
  appVersion: string;
  /** Accepted events stored (after dedup). */
  accepted: number;
  rejected: Partial<Record<RejectReason, number>>;
}

/** One bucket of receivedCounts. */
export interface ReceivedCounts {
  /** Start of the bucket (epoch ms, a multiple of bucketMs). */
  bucketStart: number;
  appVersion: string | null;
  accepted: number;
  late: number;
  /** Distinct copies beyond the first, summed over the bucket's accepted events. */
  extraCopies: number;
  rejected: Partial<Record<RejectReason, number>>;
}

/** receivedCounts reduced to receivedLineCounts: rows of an app version, their accepted and rejected lines. */
export function linesWithVersion(rows: readonly ReceivedCounts[]): ReceivedLines[] {
  const lines: ReceivedLines[] = [];
  for (const row of rows) if (row.appVersion !== null) lines.push({ bucketStart: row.bucketStart, appVersion: row.appVersion, accepted: row.accepted, rejected: row.rejected });
  return lines;
}

export interface StoreCounts {
  events: number;
  rejected: number;
  profiles: number;
  dirty: number;
  copies: number;
}

/** Counts and data-quality aggregates over what the raw store holds. */
export interface StoreStats {
  /** Counts for summaries and reconciliation; `copies` = distinct lines kept for retried message ids. */
  counts(): Promise<StoreCounts>;
  /**
   * Data-quality aggregates (checks, release bursts). Each is one grouped scan; adapters keep
   * them simple (SQLite: GROUP BY over an index; MongoDB: one $group per collection).
   *
   * What arrived in `range` of received time, per bucket (`bucketMs` wide, aligned to the epoch)
   * and app version: accepted events (stored copies, so after dedup), how many of them arrived
   * more than `lateAfterMs` after they happened, extra distinct copies (see StoredEvent.copies), and
   * rejected lines by reason. Rows with nothing in them are left out; order is unspecified.
   */
  receivedCounts(range: TimeRange, options: { bucketMs: number; lateAfterMs: number }): Promise<ReceivedCounts[]>;
  /**
   * What release-burst detection reads, over the whole store: accepted events and rejected lines
   * by reason per bucket of received time and app version, lines without an app version left
   * out — receivedCounts' accepted and rejected for those. A stream asks for it every minute or
   * so, so an adapter should keep these counts as it writes rather than scan every stored line
   * (the embedded store does, per minute, for a `bucketMs` of whole minutes).
   */
  receivedLineCounts(bucketMs: number): Promise<ReceivedLines[]>;
  /** Accepted events per UTC day of event time: activity (track/page/screen) and identity (identify/alias) calls. */
  acceptedPerDay(range: TimeRange): Promise<Array<{ day: string; activity: number; identity: number }>>;
}

/**
 * receivedCounts rows built one record at a time (engines that count in code): `rowOf` gives the
 * row of the bucket `receivedAt` falls in and the app version; `rows()` the rows made so far.
 */
export function receivedCountRows(bucketMs: number): { rowOf(receivedAt: number, appVersion: string | null): ReceivedCounts; rows(): ReceivedCounts[] } {
  const bucket = Math.max(1, Math.trunc(bucketMs));
  const rows = new Map<string, ReceivedCounts>();
  return {
    rowOf(receivedAt, appVersion) {
      const bucketStart = receivedAt - (receivedAt % bucket);
      const key = `${bucketStart}\u0000${appVersion ?? '\u0001'}`;
      let row = rows.get(key);
      if (!row) rows.set(key, (row = { bucketStart, appVersion, accepted: 0, late: 0, extraCopies: 0, rejected: {} }));
      return row;
    },
    rows: () => [...rows.values()],
  };
}
