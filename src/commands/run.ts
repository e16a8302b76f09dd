import { createAcceptanceGate, DEFAULT_ACCEPTANCE_GATE } from '../pipeline/acceptance-gate.js';
import { createDeriveDirtyUsers } from '../pipeline/derive-dirty-users.js';
import { createIngest, type IngestSummary } from '../pipeline/ingest.js';
import { createSignalsRefresher } from '../pipeline/journey-signals.js';
import { createLineProcessor } from '../pipeline/line-processor.js';
import { createPublishPipelineFacts } from '../pipeline/publish-pipeline-facts.js';
import { createSessionize } from '../pipeline/sessionize.js';
import { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { createProgress } from '../render/progress.js';
import { createFileSource } from '../sources/file-source.js';
import { openStores, serialiseDerivation } from '../stores/open-stores.js';
import { UsageError } from '../errors.js';
import { type CommandContext, parseDurationFlag } from './context.js';
import { startKafkaRun } from './kafka-run.js';

export interface RunOptions {
  /** NDJSON file or - (source file). */
  input?: string;
  /** file (default) or kafka: the config's kafka section (--brokers, --topic, --group). */
  source?: 'file' | 'kafka';
  wait: string;
  progress: boolean;
  /** Store an input even when almost none of it is valid (the acceptance gate is off). */
  acceptAllRejected?: boolean;
}

/** `journeyctl run`: ingest NDJSON into the data directory and derive sessions. */
export async function runIngest(context: CommandContext, options: RunOptions, command = 'journeyctl run'): Promise<IngestSummary> {
  const { config } = context;
  if (options.source !== 'kafka' && options.input === undefined) throw new UsageError('run needs --input FILE (or - for stdin), or --source kafka');
  const kafka = options.source === 'kafka' ? startKafkaRun(context) : null;
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
  const progress = createProgress(context.io.stderr, options.progress);
  // A regular file is a backlog that is all there: deriving part-way re-derives every user whose
  // activity straddles the cut (a 1M-event file derived every 250k events derived 14.8k users for
  // 9.2k; a 4M one derived at 2M spent 36 s of 229 s deriving users twice and read their stored
  // rows back to diff), so it derives once, at the end. Memory does not depend on it: derivation
  // reads users a bounded number of events at a time, and the dirty marks are in the raw store
  // (a run killed part-way leaves them for the next one). A stream (stdin, Kafka) may trickle,
  // so sessions appear every few seconds.
  const backlog = source.totalBytes !== undefined;
  const lineProcessor = createLineProcessor({ pipeline: config.pipeline, trackingPlan: config.trackingPlan });
  // A Kafka topic is a shared stream, not one input that can be the wrong file.
  const processor = options.acceptAllRejected || kafka ? lineProcessor : createAcceptanceGate(lineProcessor, { ...DEFAULT_ACCEPTANCE_GATE, input: source.description });
  try {
    // Copies and release bursts are store-wide inputs of two flags: refreshed before each derive.
    const signals = createSignalsRefresher(stores.raw, config.journeys.flags);
    const deriveDirtyUsers = createDeriveDirtyUsers({
      raw: stores.raw,
      analytics: stores.analytics,
      sessionize: createSessionize(config.pipeline),
      deriveJourneys: createDeriveJourneys(config.journeys, signals.current),
      // One round for a whole backlog's dirty ids (ids are ~40 bytes each): in rounds of 20k, a user
      // whose anonymous ids fall in another round than its own id was derived once per round.
      idsPerRound: 200_000,
    });
    const ingest = createIngest({
      raw: stores.raw,
      processor,
      deriveDirtyUsers: serialiseDerivation(config, stores.raw, storeOptions, async () => {
        await signals.refresh({ persist: true });
        return deriveDirtyUsers();
      }),
      lateAfterMs: config.pipeline.lateAfterMs,
      deriveEveryEvents: backlog ? Number.POSITIVE_INFINITY : 250_000,
      deriveIntervalMs: backlog ? Number.POSITIVE_INFINITY : 5_000,
      onProgress: (summary, bytesRead) => {
        kafka?.note(summary);
        progress.update(bytesRead ?? 0, source.totalBytes, `${summary.read.toLocaleString('en-US')} lines read from ${source.description}`);
      },
    });
    const summary = await ingest(source);
    // While a stream runs, bursts are detected at most once a minute: settle them now the input has ended.
    const settled = await serialiseDerivation(config, stores.raw, storeOptions, async () => ((await signals.refresh({ persist: true, force: true })).burstsChanged ? deriveDirtyUsers() : null))();
    if (settled) for (const key of Object.keys(settled) as Array<keyof typeof settled>) summary.derive[key] += settled[key];
    // Dashboards read pipeline health and corrections from a copy in the analytics store.
    await createPublishPipelineFacts({ raw: stores.raw, analytics: stores.analytics, lateAfterMs: config.pipeline.lateAfterMs })();
    return summary;
  } catch (error) {
    const stopped = kafka?.stoppedSummary(error);
    if (stopped) return stopped;
    throw error;
  } finally {
    kafka?.dispose();
    progress.finish();
    await processor.close();
    await source.close();
    await stores.close();
  }
}

/** The run summary as a flat record, the same data for the text and JSON renderings. */
export function summaryRecord(summary: IngestSummary): Record<string, unknown> {
  const rejectedTotal = Object.values(summary.rejected).reduce((sum, count) => sum + (count ?? 0), 0);
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
  };
}

export function formatSummaryText(summary: IngestSummary): string {
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
  ];
  return `${lines.join('\n')}\n`;
}
