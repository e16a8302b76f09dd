import Table from 'cli-table3';
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
  return `${table.toString()}\n${summary.dryRun ? 'Dry run: nothing was written.\n' : ''}`;
}
