import { ActionFailedError, UsageError } from '../errors.js';
import { emptyIngestSummary, type IngestSummary } from '../pipeline/ingest.js';
import { createKafkaSource, type KafkaSource } from '../sources/kafka-source.js';
import type { Stores } from '../stores/open-stores.js';
import { waitForStores } from '../stores/wait-for-stores.js';
import { type CommandContext, parseDurationFlag } from './context.js';

/** How a Kafka run ends by itself: a micro-batch (--until-caught-up) and the bounds of any Kafka run. */
export interface KafkaBounds {
  untilCaughtUp?: boolean;
  /** --max-events N */
  maxEvents?: string;
  /** --max-duration D */
  maxDuration?: string;
  /** Exit 1 when the run ended with lag left. */
  failOnLag?: boolean;
}

/** What a Kafka run reports next to the ingest counts. */
export interface KafkaRunReport {
  /** 'caught up', 'max events (N)', 'max duration (D)', 'signal' */
  stoppedBy: string;
  /** This member's lag when it first joined (its partitions' ends minus the group's committed offsets). */
  lagAtStart: number | null;
  /** The group's lag over the whole topic when the run ended (messages produced meanwhile included). */
  lagAtEnd: number | null;
}

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
  /** After ingest: why it ended and the lag left (read before the consumer leaves the group). */
  report(): Promise<KafkaRunReport>;
  dispose(): void;
}

export function startKafkaRun(context: CommandContext, bounds: KafkaBounds = {}): KafkaRun {
  const maxEvents = bounds.maxEvents === undefined ? undefined : Number(bounds.maxEvents);
  if (maxEvents !== undefined && !(Number.isInteger(maxEvents) && maxEvents > 0))
    throw new UsageError(`--max-events "${bounds.maxEvents}" is not a positive whole number`, { hint: 'e.g. --max-events 100000' });
  const maxDurationMs = bounds.maxDuration === undefined ? undefined : parseDurationFlag('max-duration', bounds.maxDuration);
  const source = createKafkaSource({
    kafka: context.config.kafka,
    batchSize: context.config.pipeline.batchSize,
    maxLineBytes: context.config.pipeline.maxLineBytes,
    log: context.log,
    untilCaughtUp: Boolean(bounds.untilCaughtUp),
    ...(maxEvents !== undefined ? { maxEvents } : {}),
  });
  // Counted from the start, connecting included: a CronJob's slot is wall-clock time.
  const deadline = maxDurationMs === undefined ? null : setTimeout(() => source.finish(`max duration (${bounds.maxDuration})`), maxDurationMs);
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
    async report() {
      const stoppedBy = source.outcome.finishedBy ?? 'signal';
      const lagAtStart = source.outcome.lagAtStart;
      if (stoppedBy === 'caught up' && lagAtStart === 0) context.log('kafka: nothing to do (lag 0)');
      let lagAtEnd: number | null = null;
      try {
        lagAtEnd = await source.groupLag();
      } catch (error) {
        context.log(`kafka: could not read the lag left (${(error as Error).message})`);
      }
      if (stoppedBy !== 'caught up' && stoppedBy !== 'signal') context.log(`kafka: stopped at ${stoppedBy}; what was stored is committed; lag left ${lagAtEnd ?? 'unknown'}`);
      return { stoppedBy, lagAtStart, lagAtEnd };
    },
    dispose() {
      if (deadline) clearTimeout(deadline);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The report as fields of the run summary (JSON) and lines under its text; --fail-on-lag turns lag left into exit 1. */
export function kafkaSummary(report: KafkaRunReport): { record: Record<string, unknown>; text: string } {
  return {
    record: { stopped_by: report.stoppedBy, lag_at_start: report.lagAtStart, lag_at_end: report.lagAtEnd },
    text: `stopped by        ${report.stoppedBy}\nlag at start      ${report.lagAtStart ?? '-'}\nlag at end        ${report.lagAtEnd ?? '-'}\n`,
  };
}

/** --fail-on-lag: a run a bound stopped with lag left exits 1 (after its summary is printed). */
export function checkLag(report: KafkaRunReport, failOnLag: boolean): void {
  if (failOnLag && report.stoppedBy.startsWith('max ') && report.lagAtEnd !== 0) {
    throw new ActionFailedError(`the run ended with lag ${report.lagAtEnd ?? 'unknown'} left (--fail-on-lag)`, { hint: 'run again (or raise --max-duration / --max-events) to catch up' });
  }
}

/** The bounds of a Kafka run from the run flags; they mean nothing for a file or stdin. */
export function kafkaBoundsFor(source: string, flags: KafkaBounds): KafkaBounds | undefined {
  const given = (['untilCaughtUp', 'maxEvents', 'maxDuration', 'failOnLag'] as const).filter((key) => flags[key] !== undefined && flags[key] !== false);
  if (source === 'kafka') return flags;
  if (given.length > 0)
    throw new UsageError(`--${given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --source kafka only`, { hint: 'a file or stdin run ends at the end of its input' });
  return undefined;
}
