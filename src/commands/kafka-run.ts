import { emptyIngestSummary, type IngestSummary } from '../pipeline/ingest.js';
import { createKafkaSource, type KafkaSource } from '../sources/kafka-source.js';
import type { Stores } from '../stores/open-stores.js';
import { waitForStores } from '../stores/wait-for-stores.js';
import type { CommandContext } from './context.js';

/**
 * What `run --source kafka` adds to a run: the Kafka source, stores that wait out an outage
 * (consumption paused, nothing acknowledged), and a graceful stop on SIGINT/SIGTERM: stop
 * fetching, finish or abandon the batch in hand, commit what is stored, exit 0. A second signal
 * exits at once (130); nothing is lost either way, uncommitted messages are delivered again.
 */
export interface KafkaRun {
  source: KafkaSource;
  guard(stores: Stores): Stores;
  /** The progress callback's summary, returned when a stop interrupts a store wait. */
  note(summary: IngestSummary): void;
  /** After ingest threw: the summary so far if the error is the stop we asked for, else null. */
  stoppedSummary(error: unknown): IngestSummary | null;
  dispose(): void;
}

export function startKafkaRun(context: CommandContext): KafkaRun {
  const source = createKafkaSource({ kafka: context.config.kafka, batchSize: context.config.pipeline.batchSize, maxLineBytes: context.config.pipeline.maxLineBytes, log: context.log });
  const abort = new AbortController();
  let last: IngestSummary | null = null;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(130);
    context.log(`${signal}: stopping — no more fetching; the batch in hand is finished or left for re-delivery, stored offsets are committed (again to quit at once)`);
    source.stop();
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    source,
    guard: (stores) =>
      waitForStores(stores, {
        log: context.log,
        signal: abort.signal,
        waitingNote: 'Kafka consumption paused, nothing is committed meanwhile',
        onWaiting: (waiting) => (waiting ? source.pause() : source.resume()),
      }),
    note(summary) {
      last = summary;
    },
    stoppedSummary(error) {
      if (!abort.signal.aborted) return null;
      context.log(`stopped while waiting for a store; the batch in hand was not acknowledged and will be delivered again (${(error as Error).message})`);
      return last ?? emptyIngestSummary();
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
