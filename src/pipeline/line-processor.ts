import type { Worker } from 'node:worker_threads';
import { compiledWorkerBeside, startCompiledWorker } from '../runtime/compiled-worker.js';
import type { RejectedLine, RejectReason, TimeSource } from '../domain/event.js';
import type { LineKey, StoredCopiesLookUp, StoredCopiesReader, StoredCopiesReaderSpec, StoredCopy } from '../stores/ports/event-log.js';
import { type EncodedEvent, encodeEvent } from '../stores/raw-store.js';
import { openStoredCopiesReader } from '../stores/stored-copies-reader.js';
import { createProcessLine, type ProcessLineDeps, rawHashOf } from './process-line.js';
import { isWellFormed } from './validate-event.js';

/** One batch after the per-line stages, in line order, ready for the raw store. */
export interface ProcessedBatch {
  accepted: EncodedEvent[];
  /** The index in the batch's lines of each accepted event. */
  acceptedLines: number[];
  rejected: RejectedLine[];
  /**
   * Lines the raw store already holds byte-identically, received no later (the re-ingest
   * pre-filter, docs/decisions/0026): their stored copies. Storing such a line again would
   * change nothing, so they skipped the per-line stages; they count as duplicates.
   */
  stored: StoredCopy[];
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
  /**
   * The raw store's look-up of lines it holds (RawStore.storedCopies). With it, a batch is first
   * hashed, and only lines the store does not hold byte-identically (received no later) go
   * through the per-line stages (docs/decisions/0026). Ingest only: reprocess stores nothing.
   */
  storedCopies?: (keys: readonly LineKey[]) => Promise<Array<StoredCopy | null>>;
  /**
   * Where the thread that runs the per-line stages opens the same look-up on a connection of its
   * own (RawStore.storedCopiesReader), asked once, at the first looked-up batch; null: none (then
   * `storedCopies` is used, on this thread). With it, the worker hashes, looks up and processes a
   * batch in one step, and lines already stored never cross back (docs/decisions/0026).
   */
  storedCopiesReader?: () => Promise<StoredCopiesReaderSpec | null>;
  /**
   * While pre-filtered batches mostly hit (a re-ingest), this many threads take them in turn, each
   * with its own reader: the look-up was the critical path (docs/decisions/0026, fourth pass). The
   * second starts at the first batch that hits, so a first run never starts it. Default 2 where the
   * stages run on worker threads, else 1 (2 in-thread: two handlers, two connections; tests).
   */
  filterLanes?: 1 | 2;
}

/** While batches mostly hit, every batch is looked up first; otherwise one batch in this many probes again. */
const PROBE_EVERY_BATCHES = 20;

/** The pre-filter's keys of a batch: each line's rawHash as processLine computes it and the message id read without parsing. */
export interface WireKeys {
  hashes: string[];
  messageIds: Array<string | null>;
}

const MESSAGE_ID_FIELD = '"messageId":"';

/**
 * The message id a line seems to carry, found without parsing (null when not plainly there).
 * Only a look-up key: a store answers a line only when a stored copy of that id has the line's
 * rawHash, so a wrong guess (a nested field, an odd spelling) costs a miss, never a wrong answer.
 */
export function messageIdOf(line: string): string | null {
  const at = line.indexOf(MESSAGE_ID_FIELD);
  if (at < 0) return null;
  const start = at + MESSAGE_ID_FIELD.length;
  const end = line.indexOf('"', start);
  if (end <= start) return null;
  const id = line.slice(start, end);
  return id.includes('\\') ? null : id;
}

/**
 * Which lines of a batch the store holds byte-identically, received no later than their arrival
 * (a stored copy received later would lose to the line, domain/precedence.ts: normal path).
 */
function partition(copies: ReadonlyArray<StoredCopy | null>, arrivedAt: ArrivalTimes): { fresh: number[]; stored: StoredCopy[] } {
  const fresh: number[] = [];
  const stored: StoredCopy[] = [];
  for (let index = 0; index < copies.length; index += 1) {
    const copy = copies[index];
    if (copy && copy.receivedAt <= (typeof arrivedAt === 'number' ? arrivedAt : arrivedAt[index]!)) stored.push(copy);
    else fresh.push(index);
  }
  return { fresh, stored };
}

/** The lines (or arrival times, or hashes) at `indexes`. */
function pick<T>(values: readonly T[], indexes: readonly number[]): T[] {
  return indexes.map((index) => values[index]!);
}

const arrivalsOf = (arrivedAt: ArrivalTimes, indexes: readonly number[]): ArrivalTimes => (typeof arrivedAt === 'number' ? arrivedAt : pick(arrivedAt, indexes));

/** A batch's pre-filter keys. Runs on the worker thread (or inline). */
export function keysOf(lines: readonly string[]): WireKeys {
  const hashes: string[] = new Array(lines.length);
  const messageIds: Array<string | null> = new Array(lines.length);
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    // A line that is not text is rejected by processLine with another hash: never looked up.
    const text = isWellFormed(line);
    hashes[index] = text ? rawHashOf(line) : '';
    messageIds[index] = text ? messageIdOf(line) : null;
  }
  return { hashes, messageIds };
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

/**
 * The per-line stages over a batch, encoded for the wire. Runs on the worker thread (or inline).
 * `hashes`: each line's rawHash when the pre-filter computed it already (so no line is hashed twice).
 */
export function processToWire(processLine: ReturnType<typeof createProcessLine>, lines: readonly string[], arrivedAt: ArrivalTimes, hashes?: readonly string[]): WireBatch {
  const acceptedStrings: Array<string | null> = [];
  const rejectedStrings: Array<string | null> = [];
  const acceptedNumbers: number[] = [];
  const rejectedNumbers: number[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    const outcome = processLine(line, typeof arrivedAt === 'number' ? arrivedAt : arrivedAt[index]!, hashes?.[index]);
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
  return { accepted, acceptedLines, rejected, stored: [] };
}

/** A pre-filtered batch as it crosses threads: only the lines the store does not hold travel back. */
export interface FilteredWire {
  /** The per-line stages of the lines not stored; null when every line was. */
  wire: WireBatch | null;
  /** Their indexes in the batch; null when they are all of it. */
  fresh: Int32Array | null;
  /** receivedAt, eventTime of each stored copy, in line order. */
  stored: Float64Array;
}

/**
 * The pre-filter and the per-line stages in one step, on the thread that runs the stages: hash the
 * batch, look it up, and process only the lines not stored (each hashed once).
 */
export function filterToWire(processLine: ReturnType<typeof createProcessLine>, lookUp: StoredCopiesLookUp, lines: readonly string[], arrivedAt: ArrivalTimes): FilteredWire {
  const { hashes, messageIds } = keysOf(lines);
  const { fresh, stored } = partition(lookUp(hashes, messageIds), arrivedAt);
  const copies = new Float64Array(stored.length * 2);
  for (let i = 0; i < stored.length; i += 1) {
    copies[2 * i] = stored[i]!.receivedAt;
    copies[2 * i + 1] = stored[i]!.eventTime;
  }
  if (fresh.length === 0) return { wire: null, fresh: Int32Array.from(fresh), stored: copies };
  if (fresh.length === lines.length) return { wire: processToWire(processLine, lines, arrivedAt, hashes), fresh: null, stored: copies };
  return { wire: processToWire(processLine, pick(lines, fresh), arrivalsOf(arrivedAt, fresh), pick(hashes, fresh)), fresh: Int32Array.from(fresh), stored: copies };
}

/** Rebuilds a pre-filtered batch on the main thread. */
export function fromFilteredWire(filtered: FilteredWire, lines: readonly string[]): ProcessedBatch {
  const stored: StoredCopy[] = new Array(filtered.stored.length / 2);
  for (let i = 0; i < stored.length; i += 1) stored[i] = { receivedAt: filtered.stored[2 * i]!, eventTime: filtered.stored[2 * i + 1]! };
  if (filtered.wire === null) return { accepted: [], acceptedLines: [], rejected: [], stored };
  const fresh = filtered.fresh;
  if (fresh === null) return { ...fromWire(filtered.wire, lines), stored };
  const batch = fromWire(
    filtered.wire,
    Array.from(fresh, (index) => lines[index]!),
  );
  return { ...batch, acceptedLines: batch.acceptedLines.map((index) => fresh[index]!), stored };
}

/**
 * The per-line stages of a batch (`hashes`: the lines' rawHashes, when known), only its pre-filter
 * keys (`keys`), or both steps with the look-up on this thread (`filter`, with the reader to open).
 */
export type WorkerRequest =
  | { id: number; lines: readonly string[]; arrivedAt: ArrivalTimes; hashes?: readonly string[] }
  | { id: number; keys: readonly string[] }
  | { id: number; filter: readonly string[]; arrivedAt: ArrivalTimes; reader: StoredCopiesReaderSpec };

export type WorkerReply = { id: number; wire: WireBatch } | { id: number; keys: WireKeys } | { id: number; filtered: FilteredWire } | { id: number; error: { message: string; stack?: string } };

/**
 * Answers WorkerRequests: on the worker thread, or on the main thread while none runs. Opens each
 * reader once. A reader that cannot open or answer (a locked or damaged file) answers nothing: every
 * line then takes the normal path, whose write reports the store's trouble if there is one.
 */
export function createRequestHandler(deps: ProcessLineDeps): { answer(request: WorkerRequest): WorkerReply; close(): void } {
  const processLine = createProcessLine(deps);
  const readers = new Map<string, StoredCopiesReader | null>();
  const nothingStored: StoredCopiesLookUp = (hashes) => hashes.map(() => null);
  const lookUpFor = (spec: StoredCopiesReaderSpec): StoredCopiesLookUp => {
    const name = `${spec.engine}:${spec.path}`;
    if (!readers.has(name)) {
      try {
        readers.set(name, openStoredCopiesReader(spec));
      } catch {
        readers.set(name, null);
      }
    }
    const reader = readers.get(name);
    if (!reader) return nothingStored;
    return (hashes, messageIds) => {
      try {
        return reader.lookUp(hashes, messageIds);
      } catch {
        return nothingStored(hashes, messageIds);
      }
    };
  };
  return {
    answer(request) {
      if ('keys' in request) return { id: request.id, keys: keysOf(request.keys) };
      if ('filter' in request) return { id: request.id, filtered: filterToWire(processLine, lookUpFor(request.reader), request.filter, request.arrivedAt) };
      return { id: request.id, wire: processToWire(processLine, request.lines, request.arrivedAt, request.hashes) };
    },
    close() {
      for (const reader of readers.values()) reader?.close();
      readers.clear();
    },
  };
}

/** Where requests are answered: a worker thread once one runs, else this thread, each with its own readers. */
interface Lane {
  worker: Worker | null;
  handler: ReturnType<typeof createRequestHandler>;
}

export function createLineProcessor(deps: ProcessLineDeps, options: LineProcessorOptions = {}): LineProcessor {
  const threadAfterLines = options.threadAfterLines ?? 1000;
  const module = options.threads === false ? null : compiledWorkerBeside('./line-worker.js', import.meta.url);
  const filterLanes = options.filterLanes ?? (module === null ? 1 : 2);
  // lanes[0] runs every kind of request; the others only pre-filtered batches, in turn with it.
  let lanes: Lane[] = [{ worker: null, handler: createRequestHandler(deps) }];
  let linesSeen = 0;
  let failure: Error | null = null;
  let nextId = 0;
  let nextFiltered = 0;
  const pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>();

  const failAll = (error: Error) => {
    failure ??= error;
    for (const entry of pending.values()) entry.reject(error);
    pending.clear();
  };

  const startWorker = (url: URL): Worker => {
    const started = startCompiledWorker(url, deps);
    started.on('message', (reply: WorkerReply) => {
      const entry = pending.get(reply.id);
      if (!entry) return;
      pending.delete(reply.id);
      if ('error' in reply) {
        const error = new Error(reply.error.message);
        if (reply.error.stack) error.stack = reply.error.stack;
        entry.reject(error);
      } else {
        entry.resolve(reply);
      }
    });
    started.on('error', (error) => failAll(error));
    started.on('exit', (code) => {
      if (pending.size > 0) failAll(new Error(`the line-processing worker stopped (exit code ${code})`));
    });
    return started;
  };

  /** Sends a request to the lane's worker thread, or (none running) answers it in this one. */
  const call = (request: WorkerRequest, lane: Lane = lanes[0]!): Promise<WorkerReply> => {
    if (failure) return Promise.reject(failure);
    const worker = lane.worker;
    if (worker === null) {
      try {
        return Promise.resolve(lane.handler.answer(request));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    const result = new Promise<WorkerReply>((resolve, reject) => pending.set(request.id, { resolve, reject }));
    worker.postMessage(request);
    return result;
  };
  /** Another lane for pre-filtered batches, once they hit: a worker thread beside the first (in-thread when threads are off). */
  const addLane = () => {
    if (lanes.length >= filterLanes || failure !== null) return;
    if (module !== null && lanes[0]!.worker === null) return;
    lanes.push({ worker: module === null ? null : startWorker(module), handler: createRequestHandler(deps) });
  };
  const stages = async (lines: readonly string[], arrivedAt: ArrivalTimes, hashes?: readonly string[]): Promise<ProcessedBatch> => {
    const reply = await call({ id: nextId++, lines, arrivedAt, ...(hashes ? { hashes } : {}) });
    return fromWire((reply as { wire: WireBatch }).wire, lines);
  };

  // The pre-filter pays while batches hit (a re-ingest); on new input it would only hash twice,
  // so after a batch that mostly missed it looks up one batch in PROBE_EVERY_BATCHES only.
  const storedCopies = options.storedCopies;
  let readerSpec: Promise<StoredCopiesReaderSpec | null> | undefined;
  let hitting = true;
  let sinceProbe = 0;
  const preFiltered = async (lines: readonly string[], arrivedAt: ArrivalTimes): Promise<ProcessedBatch> => {
    const reader = options.storedCopiesReader === undefined ? null : await (readerSpec ??= options.storedCopiesReader());
    if (reader !== null) {
      // Hashed, looked up and processed where the stages run: stored lines never travel back.
      // Lanes take batches in turn; replies carry ids, and ingest awaits them in batch order.
      const lane = lanes[nextFiltered++ % lanes.length]!;
      const { filtered } = (await call({ id: nextId++, filter: lines, arrivedAt, reader }, lane)) as { filtered: FilteredWire };
      const storedLines = filtered.stored.length / 2;
      hitting = storedLines * 2 >= lines.length;
      if (hitting) addLane();
      return fromFilteredWire(filtered, lines);
    }
    if (storedCopies === undefined) return stages(lines, arrivedAt);
    const { keys } = (await call({ id: nextId++, keys: lines })) as { keys: WireKeys };
    const copies = await storedCopies(keys.hashes.map((rawHash, index) => ({ rawHash, messageId: keys.messageIds[index]! })));
    const { fresh, stored } = partition(copies, arrivedAt);
    hitting = stored.length * 2 >= lines.length;
    if (fresh.length === lines.length) return stages(lines, arrivedAt, keys.hashes);
    if (fresh.length === 0) return { accepted: [], acceptedLines: [], rejected: [], stored };
    const batch = await stages(pick(lines, fresh), arrivalsOf(arrivedAt, fresh), pick(keys.hashes, fresh));
    return { ...batch, acceptedLines: batch.acceptedLines.map((index) => fresh[index]!), stored };
  };

  return {
    process(lines, arrivedAt) {
      linesSeen += lines.length;
      const first = lanes[0]!;
      if (first.worker === null && failure === null && module !== null && linesSeen >= threadAfterLines) first.worker = startWorker(module);
      if ((storedCopies !== undefined || options.storedCopiesReader !== undefined) && (hitting || ++sinceProbe >= PROBE_EVERY_BATCHES)) {
        sinceProbe = 0;
        return preFiltered(lines, arrivedAt);
      }
      return stages(lines, arrivedAt);
    },
    async close() {
      const closing = lanes;
      // The first lane's handler stays (its readers closed): a later process() starts again from one lane.
      lanes = [{ worker: null, handler: closing[0]!.handler }];
      for (const lane of closing) lane.handler.close();
      await Promise.all(closing.map((lane) => lane.worker?.terminate()));
    },
  };
}
