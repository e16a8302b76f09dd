import { createProgress } from '../render/progress.js';
import type { RunSummaryCounts } from '../render/run-summary.js';
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

/** What a run reports: the counts its summary shows (src/render/run-summary.ts) and, from Kafka, how it ended. */
export interface RunSummary extends RunSummaryCounts {
  /** --source kafka: why the run ended and the lag at its start and end. */
  kafka?: KafkaRunReport;
}

/** `journeyctl run`: ingest NDJSON into the data directory and derive sessions. */
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
