import Table from 'cli-table3';
import { formatBytes } from '../stores/ports/query-costs.js';
import { tableStyle } from './terminal.js';

/** What the per-day table of reprocess and repair shows (the service's summary, structurally). */
export interface ReprocessTableInput {
  dryRun: boolean;
  days: ReadonlyArray<{
    day: string;
    before: { sessions: number; events: number; labels: number; flags: number };
    after: { sessions: number; events: number; labels: number; flags: number };
    nowRejected: number;
    skipped?: boolean;
  }>;
  /** Dry run on an engine that bills by bytes scanned (BigQuery): what the rebuild would scan. */
  scan?: { bytes: number; maxBytesBilled: number | null };
}

/** The per-day before → after table of `reprocess` and `repair`, for people. */
export function renderReprocessTable(summary: ReprocessTableInput, color: boolean): string {
  const arrow = (before: number, after: number) => (before === after ? String(after) : `${before} → ${after}`);
  const table = new Table({ head: ['day (UTC)', 'sessions', 'events', 'labels', 'flags', 'now rejected', ''], style: tableStyle(color) });
  for (const day of summary.days) {
    table.push([
      day.day,
      arrow(day.before.sessions, day.after.sessions),
      arrow(day.before.events, day.after.events),
      arrow(day.before.labels, day.after.labels),
      arrow(day.before.flags, day.after.flags),
      day.nowRejected,
      day.skipped ? 'done earlier' : summary.dryRun ? 'would rebuild' : 'rebuilt',
    ]);
  }
  const scan = summary.scan
    ? `BigQuery would scan ${formatBytes(summary.scan.bytes)} (${summary.scan.bytes} bytes, dry runs of the days' partitions) to rebuild them; ${
        summary.scan.maxBytesBilled === null ? 'no --max-bytes-billed limit' : `limit ${formatBytes(summary.scan.maxBytesBilled)} per query`
      }.\n`
    : '';
  return `${table.toString()}\n${summary.dryRun ? `Dry run: nothing was written.\n${scan}` : ''}`;
}
