// An offloaded derive round (deriveRound's reading back, deriving and encoding) on a worker
// thread, so a backlog's derivation uses the second core while this thread diffs and writes
// (docs/decisions/0025). Only for what the worker can rebuild from plain data: the raw store in
// SQLite (the worker opens its own connection), the shipped correction and flag kinds.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { JourneyConfig } from '../config/config.js';
import type { Correction } from '../domain/correction.js';
import type { JourneySignals } from '../journeys/signals.js';
import type { EncodedChunk, OffloadedDerivation } from '../pipeline/derive-dirty-users.js';

/** What the worker is started with: one round. */
export interface DeriveWorkerData {
  rawPath: string;
  pipeline: JourneyConfig['pipeline'];
  journeys: JourneyConfig['journeys'];
  signals: JourneySignals;
  users: readonly string[];
  canonical: ReadonlyMap<string, string>;
  corrections: readonly Correction[];
  eventsPerRead: number;
}

export type DeriveWorkerReply = { chunk: EncodedChunk } | { done: true } | { error: { message: string; stack?: string } };

/** Chunks the worker may derive ahead of the one this thread takes (memory: a chunk is ~eventsPerRead events). */
const CHUNKS_AHEAD = 3;

/** Rounds of fewer users stay on this thread: starting the worker and its connection costs more than they take. */
export const OFFLOAD_FROM_USERS = 2_000;

/** The compiled worker module beside this one; absent when running from TypeScript sources (tests), which then derive in-thread. */
function workerModule(): URL | null {
  const url = new URL('./derive-worker.js', import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : null;
}

export interface DeriveOffloadOptions {
  rawPath: string;
  pipeline: JourneyConfig['pipeline'];
  journeys: JourneyConfig['journeys'];
  signals: () => JourneySignals;
  fromUsers?: number;
  /** The worker module (default: the compiled one beside this file). */
  module?: URL | null;
}

/** An OffloadedDerivation on a worker thread started per round, or null where none can run. */
export function createDeriveOffload(options: DeriveOffloadOptions): OffloadedDerivation | null {
  const module = options.module === undefined ? workerModule() : options.module;
  if (module === null) return null;
  try {
    // What the worker is started with must survive a structured clone (a test's registry of functions would not).
    structuredClone({ pipeline: options.pipeline, journeys: options.journeys });
  } catch {
    return null;
  }
  const fromUsers = options.fromUsers ?? OFFLOAD_FROM_USERS;
  return {
    takes: (users) => users >= fromUsers,
    round(users, canonical, corrections, eventsPerRead) {
      const data: DeriveWorkerData = { rawPath: options.rawPath, pipeline: options.pipeline, journeys: options.journeys, signals: options.signals(), users, canonical, corrections, eventsPerRead };
      return chunksOf(new Worker(module, { workerData: data }));
    },
  };
}

/** The worker's chunks in the order it sends them; the worker is stopped when the caller stops taking them. */
async function* chunksOf(worker: Worker): AsyncGenerator<EncodedChunk> {
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
      if ('done' in reply) return;
      worker.postMessage({ credit: 1 });
      yield reply.chunk;
    }
  } finally {
    if (!exited) await worker.terminate();
  }
}
