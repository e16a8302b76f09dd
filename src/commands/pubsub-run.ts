import { createPubSubSource, type PubSubSource } from '../sources/pubsub-source.js';
import type { CommandContext } from './context.js';
import { type StreamBounds, type StreamRun, startStreamRun } from './stream-run.js';

/** What a Pub/Sub run reports next to the ingest counts (Pub/Sub has no end offsets, so no lag). */
export interface PubSubRunReport {
  /** 'caught up', 'max events (N)', 'max duration (D)', 'signal' */
  stoppedBy: string;
  /** Messages received, redelivered copies included. */
  received: number;
  /** Copies of messages this run still held when Pub/Sub delivered them again (dedup absorbed them). */
  redelivered: number;
}

/** What `run --source pubsub` adds to a stream run (stream-run.ts): the Pub/Sub source and its report. */
export interface PubSubRun extends StreamRun<PubSubSource> {
  report(): PubSubRunReport;
}

export function startPubSubRun(context: CommandContext, bounds: StreamBounds = {}): PubSubRun {
  const { config } = context;
  const run = startStreamRun(context, bounds, {
    waitingNote: 'Pub/Sub messages stay leased and unacknowledged meanwhile',
    stopNote: 'stored messages are acknowledged, the rest nacked',
    open: (limits) => createPubSubSource({ pubsub: config.pubsub, batchSize: config.pipeline.batchSize, maxLineBytes: config.pipeline.maxLineBytes, log: context.log, ...limits }),
  });
  const { source } = run;
  return {
    ...run,
    report() {
      const { finishedBy, received, redelivered } = source.outcome;
      const stoppedBy = finishedBy ?? 'signal';
      if (stoppedBy === 'caught up' && received === 0) context.log('pubsub: nothing to do (no messages)');
      if (stoppedBy !== 'caught up' && stoppedBy !== 'signal') context.log(`pubsub: stopped at ${stoppedBy}; what was stored is acknowledged, the rest stays on the subscription`);
      return { stoppedBy, received, redelivered };
    },
  };
}

/** The report as fields of the run summary (JSON) and lines under its text. */
export function pubsubSummary(report: PubSubRunReport): { record: Record<string, unknown>; text: string } {
  return {
    record: { stopped_by: report.stoppedBy, messages_received: report.received, messages_redelivered: report.redelivered },
    text: `stopped by        ${report.stoppedBy}\nmessages received ${report.received}\nredelivered       ${report.redelivered}\n`,
  };
}
