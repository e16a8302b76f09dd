import { ActionFailedError } from '../errors.js';
import { createKafkaSource, type KafkaSource } from '../sources/kafka-source.js';
import type { CommandContext } from './context.js';
import { type StreamBounds, type StreamRun, startStreamRun } from './stream-run.js';

/** How a Kafka run ends by itself: a micro-batch (--until-caught-up) and the bounds of any Kafka run. */
export type KafkaBounds = StreamBounds;

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
 * What `run --source kafka` adds to a stream run (src/commands/stream-run.ts): the Kafka source,
 * whose stop commits what is stored, and a report of the lag at the start and the end.
 */
export interface KafkaRun extends StreamRun<KafkaSource> {
  /** After ingest: why it ended and the lag left (read before the consumer leaves the group). */
  report(): Promise<KafkaRunReport>;
}

export function startKafkaRun(context: CommandContext, bounds: KafkaBounds = {}): KafkaRun {
  const run = startStreamRun(context, bounds, {
    waitingNote: 'Kafka consumption paused, nothing is committed meanwhile',
    stopNote: 'stored offsets are committed',
    open: (limits) =>
      createKafkaSource({
        kafka: context.config.kafka,
        batchSize: context.config.pipeline.batchSize,
        maxLineBytes: context.config.pipeline.maxLineBytes,
        log: context.log,
        ...limits,
      }),
  });
  const { source } = run;
  return {
    ...run,
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
