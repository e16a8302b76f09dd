import { createProgress } from '../render/progress.js';
import type { RunSummaryCounts } from '../render/run-summary.js';
import { ingestSource } from '../services/ingest.js';
import { createFileSource } from '../sources/file-source.js';
import type { StreamLineSource } from '../sources/source.js';
import { openStores } from '../stores/open-stores.js';
import { UsageError } from '../errors.js';
import { type CommandContext, parseDurationFlag } from './context.js';
import type { KafkaRunReport } from './kafka-run.js';
import type { PubSubRunReport } from './pubsub-run.js';
import type { StreamBounds, StreamRun } from './stream-run.js';

export interface RunOptions {
  /** NDJSON file or - (source file). */
  input?: string;
  /** file (default), kafka (the config's kafka section: --brokers, --topic, --group) or pubsub (its pubsub section: --subscription, --project). */
  source?: 'file' | 'kafka' | 'pubsub';
  wait: string;
  progress: boolean;
  /** Store an input even when almost none of it is valid (the acceptance gate is off). */
  acceptAllRejected?: boolean;
  /** --source kafka|pubsub: a micro-batch (--until-caught-up) and the bounds --max-events / --max-duration. */
  bounds?: StreamBounds;
}

/** What a run reports: the counts its summary shows (src/render/run-summary.ts) and, from Kafka, how it ended. */
export interface RunSummary extends RunSummaryCounts {
  /** --source kafka: why the run ended and the lag at its start and end. */
  kafka?: KafkaRunReport;
  /** --source pubsub: why the run ended and the messages received and redelivered. */
  pubsub?: PubSubRunReport;
}

/** `journeyctl run`: ingest NDJSON into the data directory and derive sessions. */
export async function runIngest(context: CommandContext, options: RunOptions, command = 'journeyctl run'): Promise<RunSummary> {
  const { config } = context;
  if (options.source !== 'kafka' && options.source !== 'pubsub' && options.input === undefined) throw new UsageError('run needs --input FILE (or - for stdin), or --source kafka|pubsub');
  const stream = await startStream(context, options);
  const source = stream?.source ?? createFileSource({ input: options.input!, batchSize: config.pipeline.batchSize, maxLineBytes: config.pipeline.maxLineBytes, stdin: context.io.stdin });
  const storeOptions = { command, waitMs: parseDurationFlag('wait', options.wait), log: context.log, create: true };
  let stores;
  try {
    // From a stream, a store outage is waited out (consumption paused) instead of ending the run.
    stores = stream ? stream.guard(await openStores(config, storeOptions)) : await openStores(config, storeOptions);
  } catch (error) {
    stream?.dispose();
    throw error;
  }
  const progress = createProgress(context.io.stderr, options.progress, { env: context.io.env });
  let streamReport: Pick<RunSummary, 'kafka' | 'pubsub'> = {};
  try {
    const summary = await ingestSource(config, stores, source, {
      lease: storeOptions,
      // A topic is a shared stream, not one input that can be the wrong file.
      acceptAllRejected: options.acceptAllRejected || stream !== null,
      progress,
      onIngestProgress: (summary) => stream?.note(summary),
      // Read while this member is still in the group; everything it stored is committed by now.
      afterIngest: async () => void (streamReport = (await stream?.report()) ?? {}),
    });
    return { ...summary, ...streamReport };
  } catch (error) {
    const stopped = stream?.stoppedSummary(error);
    if (stopped) return stopped;
    throw error;
  } finally {
    stream?.dispose();
    progress.finish();
    await source.close();
    await stores.close();
  }
}

/** The stream run of --source kafka|pubsub (null for a file), with its report under its own key of the summary. */
// A stream's client library (kafkajs, @google-cloud/pubsub) loads only for that source: a file run starts without them.
async function startStream(context: CommandContext, options: RunOptions): Promise<(StreamRun<StreamLineSource> & { report(): Promise<Pick<RunSummary, 'kafka' | 'pubsub'>> }) | null> {
  if (options.source === 'kafka') {
    const { startKafkaRun } = await import('./kafka-run.js');
    const run = startKafkaRun(context, options.bounds);
    return { ...run, report: async () => ({ kafka: await run.report() }) };
  }
  if (options.source === 'pubsub') {
    const { startPubSubRun } = await import('./pubsub-run.js');
    const run = startPubSubRun(context, options.bounds);
    return { ...run, report: async () => ({ pubsub: run.report() }) };
  }
  return null;
}
