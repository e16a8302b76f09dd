import type { IngestSummary } from '../pipeline/ingest.js';
import { createProgress, formatClock } from '../render/progress.js';
import { ingestSource } from '../services/ingest.js';
import { createFileSource } from '../sources/file-source.js';
import { openStores } from '../stores/open-stores.js';
import { UsageError } from '../errors.js';
import { type CommandContext, parseDurationFlag } from './context.js';
import { type KafkaBounds, type KafkaRunReport, startKafkaRun } from './kafka-run.js';

export interface RunOptions {
  /** NDJSON file or - (source file). */
  input?: string;
  /** file (default) or kafka: the config's kafka section (--brokers, --topic, --group). */
  source?: 'file' | 'kafka';
  wait: string;
  progress: boolean;
  /** Store an input even when almost none of it is valid (the acceptance gate is off). */
  acceptAllRejected?: boolean;
  /** --source kafka: a micro-batch (--until-caught-up) and the bounds --max-events / --max-duration. */
  kafka?: KafkaBounds;
}

/** `journeyctl run`: ingest NDJSON into the data directory and derive sessions. */
/** What a run reports: the ingest counts plus, when the run ended by itself, its pace and what derivation found. */
export interface RunSummary extends IngestSummary {
  elapsedMs?: number;
  /** Release bursts known to the store after this run (see `journeyctl report`). */
  releaseBursts?: number;
  /** Sessions this run wrote that carry a flag (bot_like, clock_skew, …). */
  sessionsFlagged?: number;
  /** --source kafka: why the run ended and the lag at its start and end. */
  kafka?: KafkaRunReport;
}

export async function runIngest(context: CommandContext, options: RunOptions, command = 'journeyctl run'): Promise<RunSummary> {
  const { config } = context;
  if (options.source !== 'kafka' && options.input === undefined) throw new UsageError('run needs --input FILE (or - for stdin), or --source kafka');
  const kafka = options.source === 'kafka' ? startKafkaRun(context, options.kafka) : null;
  const source = kafka?.source ?? createFileSource({ input: options.input!, batchSize: config.pipeline.batchSize, maxLineBytes: config.pipeline.maxLineBytes, stdin: context.io.stdin });
  const storeOptions = { command, waitMs: parseDurationFlag('wait', options.wait), log: context.log, create: true };
  let stores;
  try {
    // From Kafka, a store outage is waited out (consumption paused) instead of ending the run.
    stores = kafka ? kafka.guard(await openStores(config, storeOptions)) : await openStores(config, storeOptions);
  } catch (error) {
    kafka?.dispose();
    throw error;
  }
  const progress = createProgress(context.io.stderr, options.progress, { env: context.io.env });
  let kafkaReport: KafkaRunReport | undefined;
  try {
    const summary = await ingestSource(config, stores, source, {
      lease: storeOptions,
      // A Kafka topic is a shared stream, not one input that can be the wrong file.
      acceptAllRejected: options.acceptAllRejected || kafka !== null,
      progress,
      onIngestProgress: (summary) => kafka?.note(summary),
      // Read while this member is still in the group; everything it stored is committed by now.
      afterIngest: async () => void (kafkaReport = await kafka?.report()),
    });
    return { ...summary, ...(kafkaReport ? { kafka: kafkaReport } : {}) };
  } catch (error) {
    const stopped = kafka?.stoppedSummary(error);
    if (stopped) return stopped;
    throw error;
  } finally {
    kafka?.dispose();
    progress.finish();
    await source.close();
    await stores.close();
  }
}

/** The run summary as a flat record, the same data for the text and JSON renderings. */
export function summaryRecord(summary: RunSummary): Record<string, unknown> {
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

export function formatSummaryText(summary: RunSummary): string {
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
    ...(summary.elapsedMs === undefined ? [] : [`elapsed           ${summary.elapsedMs < 60_000 ? `${(summary.elapsedMs / 1000).toFixed(1)} s` : formatClock(summary.elapsedMs)} (${record.events_per_s === null ? '-' : Number(record.events_per_s).toLocaleString('en-US')} events/s)`]),
  ];
  return `${lines.join('\n')}\n\nnext: ${record.next_step}\n`;
}
