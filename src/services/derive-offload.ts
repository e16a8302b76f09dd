// An offloaded derive round (deriveRound's reading back, deriving and encoding) on a worker
// thread, so a backlog's derivation uses the second core while this thread diffs and writes
// (docs/decisions/0025); and a reprocessed day's chunks the same way while this thread stages
// them (docs/decisions/0023). Only for what the worker can rebuild from plain data: the raw store
// in SQLite (the worker opens its own connection), the shipped correction and flag kinds.
import type { Worker } from 'node:worker_threads';
import { compiledWorkerBeside, startCompiledWorker } from '../runtime/compiled-worker.js';
import { DEFAULT_WORKER_FROM_USERS, type JourneyConfig } from '../config/config.js';
import type { Correction } from '../domain/correction.js';
import type { JourneySignals } from '../journeys/signals.js';
import type { EncodedChunk, OffloadedDerivation } from '../pipeline/derive-dirty-users.js';
import type { DayChunk, OffloadedDays } from '../pipeline/reprocess.js';
import type { EncodedDayRows } from '../stores/ports/encoded-derivation.js';

/** What the worker is started with: one derive round, or one reprocessed day. */
export type DeriveWorkerData = {
  rawPath: string;
  pipeline: JourneyConfig['pipeline'];
  journeys: JourneyConfig['journeys'];
  signals: JourneySignals;
  corrections: readonly Correction[];
} & (
  | { kind: 'round'; users: readonly string[]; canonical: ReadonlyMap<string, string>; eventsPerRead: number }
  | { kind: 'day'; day: string; chunks: readonly DayChunk[]; conflicts: ReadonlyMap<string, string[]> | null }
);

export type DeriveWorkerReply = { chunk: EncodedChunk | EncodedDayRows } | { done: true } | { error: { message: string; stack?: string } };

/** Chunks the worker may derive ahead of the one this thread takes (memory: a chunk is ~eventsPerRead events). */
const CHUNKS_AHEAD = 3;

/** Rounds of fewer users stay on this thread: starting the worker and its connection costs more than they take (`derivation.worker_from_users`). */
export const OFFLOAD_FROM_USERS = DEFAULT_WORKER_FROM_USERS;

export interface DeriveOffloadOptions {
  rawPath: string;
  pipeline: JourneyConfig['pipeline'];
  journeys: JourneyConfig['journeys'];
  signals: () => JourneySignals;
  /** Rounds and days of at least this many users go to the worker (default OFFLOAD_FROM_USERS; config `derivation.worker_from_users`). */
  fromUsers?: number;
  /** The worker module (default: the compiled one beside this file). */
  module?: URL | null;
  /** Told once per round or day the worker finished: how many chunks it derived (what shows that the worker ran). */
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** An OffloadedDerivation (and OffloadedDays) on a worker thread started per round or day, or null where none can run. */
export function createDeriveOffload(options: DeriveOffloadOptions): (OffloadedDerivation & OffloadedDays) | null {
  const module = options.module === undefined ? compiledWorkerBeside('./derive-worker.js', import.meta.url) : options.module;
  if (module === null) return null;
  try {
    // What the worker is started with must survive a structured clone (a test's registry of functions would not).
    structuredClone({ pipeline: options.pipeline, journeys: options.journeys });
  } catch {
    return null;
  }
  const fromUsers = options.fromUsers ?? OFFLOAD_FROM_USERS;
  const started = () => ({ rawPath: options.rawPath, pipeline: options.pipeline, journeys: options.journeys, signals: options.signals() });
  return {
    takes: (users) => users >= fromUsers,
    round(users, canonical, corrections, eventsPerRead) {
      const data: DeriveWorkerData = { ...started(), corrections, kind: 'round', users, canonical, eventsPerRead };
      const done = (taken: number) => options.log?.(`derive worker: derived ${users.length} users in ${taken} chunk(s)`, { users: users.length, chunks: taken });
      return chunksOf<EncodedChunk>(startCompiledWorker(module, data), done);
    },
    day(day, chunks, conflicts, corrections) {
      const data: DeriveWorkerData = { ...started(), corrections, kind: 'day', day, chunks, conflicts };
      const users = chunks.reduce((sum, { chunk }) => sum + chunk.length, 0);
      const done = (taken: number) => options.log?.(`derive worker: derived ${taken} chunk(s) of ${day} (${users} users)`, { day, users, chunks: taken });
      return chunksOf<EncodedDayRows>(startCompiledWorker(module, data), done);
    },
  };
}

/** The worker's chunks in the order it sends them; the worker is stopped when the caller stops taking them. `onDone` is told how many it sent, once all are taken. */
async function* chunksOf<T extends EncodedChunk | EncodedDayRows>(worker: Worker, onDone: (taken: number) => void): AsyncGenerator<T> {
  const replies: DeriveWorkerReply[] = [];
  let failure: Error | null = null;
  let exited = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  worker.on('message', (reply: DeriveWorkerReply) => {
    replies.push(reply);
    notify();
  });
  worker.on('error', (error) => {
    failure ??= error;
    notify();
  });
  worker.on('exit', (code) => {
    exited = true;
    if (code !== 0) failure ??= new Error(`the derive worker exited with code ${code}`);
    notify();
  });
  worker.postMessage({ credit: CHUNKS_AHEAD });
  let taken = 0;
  try {
    for (;;) {
      const reply = replies.shift();
      if (reply === undefined) {
        if (failure) throw failure;
        if (exited) throw new Error('the derive worker stopped before the end of its round');
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if ('error' in reply) {
        const error = new Error(reply.error.message);
        if (reply.error.stack) error.stack = reply.error.stack;
        throw error;
      }
      if ('done' in reply) {
        onDone(taken);
        return;
      }
      worker.postMessage({ credit: 1 });
      taken += 1;
      yield reply.chunk as T;
    }
  } finally {
    if (!exited) await worker.terminate();
  }
}
