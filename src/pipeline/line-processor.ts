import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RejectedLine, RejectReason, TimeSource } from '../domain/event.js';
import { type EncodedEvent, encodeEvent } from '../stores/raw-store.js';
import { createProcessLine, type ProcessLineDeps } from './process-line.js';

/** One batch after the per-line stages, in line order, ready for the raw store. */
export interface ProcessedBatch {
  accepted: EncodedEvent[];
  /** The index in the batch's lines of each accepted event. */
  acceptedLines: number[];
  rejected: RejectedLine[];
}

/**
 * Runs the per-line stages (parse → validate → tracking plan → clock skew) over whole batches.
 * On a bulk input they run on a worker thread while the main thread writes the previous batch
 * to the raw store: the two halves of ingest cost about the same (docs/decisions/0009).
 */
export interface LineProcessor {
  /** `arrivedAt`: one arrival time for the batch (ingest), or one per line (reprocess: each stored line's). */
  process(lines: readonly string[], arrivedAt: ArrivalTimes): Promise<ProcessedBatch>;
  /** Stops the worker thread, if one runs; idempotent. A later process() starts a new one. */
  close(): Promise<void>;
}

export interface LineProcessorOptions {
  /** Start the worker thread once this many lines have come in; a trickle never pays for one. Default 1000. */
  threadAfterLines?: number;
  /** false: always in this thread. Default true (when the compiled worker module exists). */
  threads?: boolean;
}

/**
 * The batch as it crosses threads: flat arrays of primitives, which structured clone copies
 * far faster than objects (field names are not repeated per event). The line itself never
 * travels back: the main thread has it, and `raw` is the line unless the stages changed it.
 */
export interface WireBatch {
  acceptedCount: number;
  rejectedCount: number;
  /** Per accepted event ACCEPTED_STRINGS values, then per rejected line REJECTED_STRINGS values. */
  strings: Array<string | null>;
  /** Per accepted event ACCEPTED_NUMBERS values, then per rejected line REJECTED_NUMBERS values. */
  numbers: Float64Array;
}

/** When the lines arrived: one time for all of them, or one per line. */
export type ArrivalTimes = number | readonly number[];

const ACCEPTED_STRINGS = 13;
const ACCEPTED_NUMBERS = 4;
const REJECTED_STRINGS = 7;
const REJECTED_NUMBERS = 2;

/** The per-line stages over a batch, encoded for the wire. Runs on the worker thread (or inline). */
export function processToWire(processLine: ReturnType<typeof createProcessLine>, lines: readonly string[], arrivedAt: ArrivalTimes): WireBatch {
  const acceptedStrings: Array<string | null> = [];
  const rejectedStrings: Array<string | null> = [];
  const acceptedNumbers: number[] = [];
  const rejectedNumbers: number[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    const outcome = processLine(line, typeof arrivedAt === 'number' ? arrivedAt : arrivedAt[index]!);
    if (outcome.ok) {
      const event = encodeEvent(outcome.event);
      acceptedStrings.push(
        event.messageId,
        event.type,
        event.event,
        event.userId,
        event.anonymousId,
        event.previousId,
        event.identityKey,
        event.timeSource,
        event.appVersion,
        event.propertiesJson,
        event.traitsJson,
        event.rawHash,
        event.raw === line ? null : event.raw,
      );
      acceptedNumbers.push(index, event.eventTime, event.skewMs, event.receivedAt);
    } else {
      const rejected = outcome.rejected;
      rejectedStrings.push(rejected.reason, rejected.detail, rejected.messageId, rejected.event, rejected.appVersion, rejected.rawHash, rejected.raw === line ? null : rejected.raw);
      rejectedNumbers.push(index, rejected.receivedAt);
    }
  }
  const numbers = new Float64Array(acceptedNumbers.length + rejectedNumbers.length);
  numbers.set(acceptedNumbers, 0);
  numbers.set(rejectedNumbers, acceptedNumbers.length);
  for (const value of rejectedStrings) acceptedStrings.push(value);
  return { acceptedCount: acceptedNumbers.length / ACCEPTED_NUMBERS, rejectedCount: rejectedNumbers.length / REJECTED_NUMBERS, strings: acceptedStrings, numbers };
}

/** Rebuilds the batch on the main thread, taking each line from `lines`. */
export function fromWire(wire: WireBatch, lines: readonly string[]): ProcessedBatch {
  const { strings, numbers } = wire;
  const accepted: EncodedEvent[] = new Array(wire.acceptedCount);
  const acceptedLines: number[] = new Array(wire.acceptedCount);
  let s = 0;
  let n = 0;
  for (let i = 0; i < wire.acceptedCount; i += 1, s += ACCEPTED_STRINGS, n += ACCEPTED_NUMBERS) {
    acceptedLines[i] = numbers[n]!;
    accepted[i] = {
      messageId: strings[s]!,
      type: strings[s + 1] as EncodedEvent['type'],
      event: strings[s + 2]!,
      userId: strings[s + 3] as string | null,
      anonymousId: strings[s + 4] as string | null,
      previousId: strings[s + 5] as string | null,
      identityKey: strings[s + 6]!,
      eventTime: numbers[n + 1]!,
      timeSource: strings[s + 7] as TimeSource,
      skewMs: numbers[n + 2]!,
      receivedAt: numbers[n + 3]!,
      appVersion: strings[s + 8] as string | null,
      propertiesJson: strings[s + 9]!,
      traitsJson: strings[s + 10]!,
      raw: strings[s + 12] ?? lines[numbers[n]!]!,
      rawHash: strings[s + 11]!,
    };
  }
  const rejected: RejectedLine[] = new Array(wire.rejectedCount);
  for (let i = 0; i < wire.rejectedCount; i += 1, s += REJECTED_STRINGS, n += REJECTED_NUMBERS) {
    rejected[i] = {
      raw: strings[s + 6] ?? lines[numbers[n]!]!,
      rawHash: strings[s + 5]!,
      reason: strings[s] as RejectReason,
      detail: strings[s + 1]!,
      receivedAt: numbers[n + 1]!,
      messageId: strings[s + 2] as string | null,
      event: strings[s + 3] as string | null,
      appVersion: strings[s + 4] as string | null,
    };
  }
  return { accepted, acceptedLines, rejected };
}

export interface WorkerRequest {
  id: number;
  lines: readonly string[];
  arrivedAt: ArrivalTimes;
}

export type WorkerReply = { id: number; wire: WireBatch } | { id: number; error: { message: string; stack?: string } };

/** The compiled worker module beside this one; absent when running from TypeScript sources (tests), which then stay in-thread. */
function workerModule(): URL | null {
  const url = new URL('./line-worker.js', import.meta.url);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : null;
}

export function createLineProcessor(deps: ProcessLineDeps, options: LineProcessorOptions = {}): LineProcessor {
  const processLine = createProcessLine(deps);
  const threadAfterLines = options.threadAfterLines ?? 1000;
  const module = options.threads === false ? null : workerModule();
  let linesSeen = 0;
  let worker: Worker | null = null;
  let failure: Error | null = null;
  let nextId = 0;
  const pending = new Map<number, { lines: readonly string[]; resolve: (batch: ProcessedBatch) => void; reject: (error: Error) => void }>();

  const failAll = (error: Error) => {
    failure ??= error;
    for (const entry of pending.values()) entry.reject(error);
    pending.clear();
  };

  const startWorker = (url: URL): Worker => {
    const started = new Worker(url, { workerData: deps });
    started.on('message', (reply: WorkerReply) => {
      const entry = pending.get(reply.id);
      if (!entry) return;
      pending.delete(reply.id);
      if ('error' in reply) {
        const error = new Error(reply.error.message);
        if (reply.error.stack) error.stack = reply.error.stack;
        entry.reject(error);
      } else {
        entry.resolve(fromWire(reply.wire, entry.lines));
      }
    });
    started.on('error', (error) => failAll(error));
    started.on('exit', (code) => {
      if (pending.size > 0) failAll(new Error(`the line-processing worker stopped (exit code ${code})`));
    });
    return started;
  };

  return {
    process(lines, arrivedAt) {
      linesSeen += lines.length;
      if (failure) return Promise.reject(failure);
      if (worker === null && module !== null && linesSeen >= threadAfterLines) worker = startWorker(module);
      if (worker === null) {
        try {
          return Promise.resolve(fromWire(processToWire(processLine, lines, arrivedAt), lines));
        } catch (error) {
          return Promise.reject(error as Error);
        }
      }
      const id = nextId++;
      const request: WorkerRequest = { id, lines, arrivedAt };
      const result = new Promise<ProcessedBatch>((resolve, reject) => pending.set(id, { lines, resolve, reject }));
      worker.postMessage(request);
      return result;
    },
    async close() {
      const running = worker;
      worker = null;
      if (running) await running.terminate();
    },
  };
}
