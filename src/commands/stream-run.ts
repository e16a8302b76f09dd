import { UsageError } from '../errors.js';
import { emptyIngestSummary, type IngestSummary } from '../pipeline/ingest.js';
import type { StreamLineSource } from '../sources/source.js';
import type { Stores } from '../stores/open-stores.js';
import { waitForStores } from '../stores/wait-for-stores.js';
import { type CommandContext, parseDurationFlag } from './context.js';

/** How a stream run (Kafka, Pub/Sub) ends by itself: a micro-batch (--until-caught-up) and its bounds. */
export interface StreamBounds {
  untilCaughtUp?: boolean;
  /** --max-events N */
  maxEvents?: string;
  /** --max-duration D */
  maxDuration?: string;
  /** Exit 1 when the run ended with lag left (Kafka only: Pub/Sub has no end offsets). */
  failOnLag?: boolean;
}

/** What differs between the stream sources a run drives alike. */
export interface StreamKind<S extends StreamLineSource> {
  /** Said while a store is down, e.g. 'Kafka consumption paused, nothing is committed meanwhile'. */
  waitingNote: string;
  /** What a stop leaves, said on SIGINT/SIGTERM, e.g. 'stored offsets are committed'. */
  stopNote: string;
  open(limits: { untilCaughtUp: boolean; maxEvents?: number }): S;
}

/**
 * What a stream adds to a run: the source, stores that wait out an outage (consumption paused,
 * nothing acknowledged), the --max-duration deadline, and a graceful stop on SIGINT/SIGTERM: stop
 * fetching, finish or abandon the batch in hand, acknowledge what is stored, exit 0. A second
 * signal exits at once (130); nothing is lost either way, unacknowledged messages come again.
 */
export interface StreamRun<S extends StreamLineSource> {
  source: S;
  guard(stores: Stores): Stores;
  /** The progress callback's summary, returned when a stop interrupts a store wait. */
  note(summary: IngestSummary): void;
  /** After ingest threw: the summary so far if the error is the stop we asked for, else null. */
  stoppedSummary(error: unknown): IngestSummary | null;
  dispose(): void;
}

export function startStreamRun<S extends StreamLineSource>(context: CommandContext, bounds: StreamBounds, kind: StreamKind<S>): StreamRun<S> {
  const maxEvents = bounds.maxEvents === undefined ? undefined : Number(bounds.maxEvents);
  if (maxEvents !== undefined && !(Number.isInteger(maxEvents) && maxEvents > 0))
    throw new UsageError(`--max-events "${bounds.maxEvents}" is not a positive whole number`, { hint: 'e.g. --max-events 100000' });
  const maxDurationMs = bounds.maxDuration === undefined ? undefined : parseDurationFlag('max-duration', bounds.maxDuration);
  const source = kind.open({ untilCaughtUp: Boolean(bounds.untilCaughtUp), ...(maxEvents !== undefined ? { maxEvents } : {}) });
  // Counted from the start, connecting included: a CronJob's slot is wall-clock time.
  const deadline = maxDurationMs === undefined ? null : setTimeout(() => source.finish(`max duration (${bounds.maxDuration})`), maxDurationMs);
  const abort = new AbortController();
  let last: IngestSummary | null = null;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(130);
    context.log(`${signal}: stopping — no more fetching; the batch in hand is finished or left for re-delivery, ${kind.stopNote} (again to quit at once)`);
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
        waitingNote: kind.waitingNote,
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
      if (deadline) clearTimeout(deadline);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The bounds of a stream run from the run flags; they mean nothing for a file or stdin. */
export function streamBoundsFor(source: string, flags: StreamBounds): StreamBounds | undefined {
  const given = (['untilCaughtUp', 'maxEvents', 'maxDuration', 'failOnLag'] as const).filter((key) => flags[key] !== undefined && flags[key] !== false);
  const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (source === 'kafka') return flags;
  if (source === 'pubsub') {
    if (flags.failOnLag) throw new UsageError('--fail-on-lag applies to --source kafka only', { hint: 'Pub/Sub has no end offsets, so a run cannot tell the lag it leaves' });
    return flags;
  }
  if (given.length > 0) throw new UsageError(`${flag(given[0]!)} applies to --source kafka or pubsub only`, { hint: 'a file or stdin run ends at the end of its input' });
  return undefined;
}
