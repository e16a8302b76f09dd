// The run summary: one flat record for `--output json` and the text people read after
// `run` and `demo`.
import type { IngestSummary } from '../pipeline/ingest.js';
import { formatClock } from './progress.js';

/** What a run reports: the ingest counts plus, when the run ended by itself, its pace and what derivation found. */
export interface RunSummaryCounts extends IngestSummary {
  elapsedMs?: number;
  /** Release bursts known to the store after this run (see `journeyctl report`). */
  releaseBursts?: number;
  /** Sessions this run wrote that carry a flag (bot_like, clock_skew, …). */
  sessionsFlagged?: number;
}

/** The run summary as a flat record, the same data for the text and JSON renderings. */
export function summaryRecord(summary: RunSummaryCounts): Record<string, unknown> {
  const rejectedTotal = Object.values(summary.rejected).reduce((sum, count) => sum + (count ?? 0), 0);
  const elapsedSeconds = summary.elapsedMs === undefined ? undefined : Math.round(summary.elapsedMs) / 1000;
  return {
    events_read: summary.read,
    accepted: summary.accepted,
    duplicates: summary.duplicates,
    replaced_by_earlier_copy: summary.replaced,
    rejected: rejectedTotal,
    rejected_by_reason: summary.rejected,
    rejected_already_stored: summary.rejectedAlreadyStored,
    late: summary.late,
    users_derived: summary.derive.users,
    sessions_written: summary.derive.sessionsWritten,
    sessions_removed: summary.derive.sessionsDeleted,
    events_placed: summary.derive.eventsWritten,
    ...(summary.sessionsFlagged === undefined ? {} : { sessions_flagged: summary.sessionsFlagged }),
    ...(summary.releaseBursts === undefined ? {} : { release_bursts: summary.releaseBursts }),
    ...(elapsedSeconds === undefined ? {} : { elapsed_s: elapsedSeconds, events_per_s: elapsedSeconds > 0 ? Math.round(summary.read / elapsedSeconds) : null }),
    next_step: nextStep(rejectedTotal),
  };
}

/** The one command to run next: look at the result, or at what was refused. */
function nextStep(rejected: number): string {
  return rejected > 0 ? 'journeyctl export rejected --output table' : 'journeyctl report';
}

export function formatSummaryText(summary: RunSummaryCounts): string {
  const record = summaryRecord(summary);
  const reasons = Object.entries(summary.rejected)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reason, count]) => `    ${reason.padEnd(22)} ${count}`)
    .join('\n');
  const lines = [
    `events read       ${record.events_read}`,
    `accepted          ${record.accepted}`,
    `duplicates        ${record.duplicates}${summary.replaced ? ` (${summary.replaced} replaced by an earlier-received copy)` : ''}`,
    `rejected          ${record.rejected}${summary.rejectedAlreadyStored ? ` (${summary.rejectedAlreadyStored} already in the rejected store)` : ''}`,
    ...(reasons ? [reasons] : []),
    `late              ${record.late}`,
    `users derived     ${record.users_derived}`,
    `sessions written  ${record.sessions_written}${summary.derive.sessionsDeleted ? ` (${summary.derive.sessionsDeleted} superseded)` : ''}`,
    ...(summary.sessionsFlagged === undefined ? [] : [`sessions flagged  ${summary.sessionsFlagged}`]),
    ...(summary.releaseBursts === undefined ? [] : [`release bursts    ${summary.releaseBursts}`]),
    ...(summary.elapsedMs === undefined
      ? []
      : [
          `elapsed           ${summary.elapsedMs < 60_000 ? `${(summary.elapsedMs / 1000).toFixed(1)} s` : formatClock(summary.elapsedMs)} (${record.events_per_s === null ? '-' : Number(record.events_per_s).toLocaleString('en-US')} events/s)`,
        ]),
  ];
  return `${lines.join('\n')}\n\nnext: ${record.next_step}\n`;
}
