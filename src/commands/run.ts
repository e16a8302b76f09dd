import { createAcceptanceGate, DEFAULT_ACCEPTANCE_GATE } from '../pipeline/acceptance-gate.js';
import { createDeriveDirtyUsers } from '../pipeline/derive-dirty-users.js';
import { createIngest, type IngestSummary } from '../pipeline/ingest.js';
import { createSignalsRefresher, readStoredBursts } from '../pipeline/journey-signals.js';
import { createLineProcessor } from '../pipeline/line-processor.js';
import { createPublishPipelineFacts } from '../pipeline/publish-pipeline-facts.js';
import { createSessionize } from '../pipeline/sessionize.js';
import { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { createProgress, formatClock } from '../render/progress.js';
import { createFileSource } from '../sources/file-source.js';
import { openStores, serialiseDerivation } from '../stores/open-stores.js';
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
  const progress = createProgress(context.io.stderr, options.progress);
  const startedAt = Date.now();
  let shownPhase = '';
  let sessionsFlagged = 0;
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
      onProgress: (derived, totalUsers, phase, written) => {
        sessionsFlagged += written?.sessionsFlagged ?? 0;
        if (phase !== shownPhase) progress.phase((shownPhase = phase) === 'deriving' ? 'deriving sessions' : 'writing analytics', 'users');
        progress.update(derived.users, totalUsers, `${derived.users.toLocaleString('en-US')} of ${totalUsers.toLocaleString('en-US')} users`);
      },
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
        if (bytesRead === undefined) return;
        // Once the whole input is read, what remains is storing the batches read ahead.
        const phase = source.totalBytes !== undefined && bytesRead >= source.totalBytes ? 'storing' : 'reading';
        if (phase !== shownPhase) progress.phase((shownPhase = phase), 'lines');
        progress.update(bytesRead, source.totalBytes, `${summary.read.toLocaleString('en-US')} lines from ${source.description}`, summary.read);
      },
    });
    progress.phase((shownPhase = 'reading'), 'lines');
    const summary = await ingest(source);
    // Read while this member is still in the group; everything it stored is committed by now.
    const kafkaReport = await kafka?.report();
    progress.phase((shownPhase = 'writing analytics'));
    // While a stream runs, bursts are detected at most once a minute: settle them now the input has ended.
    const settled = await serialiseDerivation(config, stores.raw, storeOptions, async () => ((await signals.refresh({ persist: true, force: true })).burstsChanged ? deriveDirtyUsers() : null))();
    if (settled) for (const key of Object.keys(settled) as Array<keyof typeof settled>) summary.derive[key] += settled[key];
    // Dashboards read pipeline health and corrections from a copy in the analytics store.
    await createPublishPipelineFacts({ raw: stores.raw, analytics: stores.analytics, lateAfterMs: config.pipeline.lateAfterMs })();
    const releaseBursts = (await readStoredBursts(stores.raw)).length;
    return { ...summary, elapsedMs: Date.now() - startedAt, releaseBursts, sessionsFlagged, ...(kafkaReport ? { kafka: kafkaReport } : {}) };
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
