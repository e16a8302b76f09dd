import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../config/config.js';
import type { RawStore } from '../stores/raw-store.js';
import { SqliteRawStore } from '../stores/sqlite/sqlite-raw-store.js';
import type { LineBatch, LineSource } from '../sources/source.js';
import { createIngest, type IngestDeps } from './ingest.js';
import { createLineProcessor } from './line-processor.js';

const NO_DERIVE = { users: 0, sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 };

function line(index: number): string {
  const at = new Date(Date.UTC(2026, 0, 5, 10, 0, index)).toISOString();
  return JSON.stringify({ type: 'track', event: 'page_viewed', messageId: `m-${index}`, userId: `u-${index % 7}`, timestamp: at, sentAt: at, receivedAt: at, properties: {} });
}

/** A promise the test resolves when it chooses: the only way these tests order events (never a timer). */
function latch<T = void>() {
  let open!: (value: T) => void;
  const opened = new Promise<T>((resolve) => (open = resolve));
  return { open, opened };
}

/** Every callback queued so far (promise reactions, then I/O and immediates) has run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Batches of `size` lines; `waitAfter` runs after each batch is taken (the source waits there, a
 * trickle), `atEnd` once the last one is taken — and records what was acked; `ackOf(i)` resolves when batch i is.
 */
function scriptedSource(batches: number, size: number, options: { waitAfter?: (index: number) => Promise<void>; atEnd?: () => void; behind?: (index: number) => number; totalBytes?: number } = {}) {
  const acked: number[] = [];
  const acks = Array.from({ length: batches }, () => latch());
  const source: LineSource = {
    description: 'test',
    totalBytes: options.totalBytes,
    async *batches(): AsyncIterable<LineBatch> {
      for (let index = 0; index < batches; index += 1) {
        const lines = Array.from({ length: size }, (_, offset) => line(index * size + offset));
        yield {
          lines,
          arrivedAt: Date.UTC(2026, 0, 5, 12),
          ...(options.behind ? { behind: options.behind(index) } : {}),
          ack: async () => {
            acked.push(index);
            acks[index]!.open();
          },
        };
        await options.waitAfter?.(index);
      }
      options.atEnd?.();
    },
    async close() {},
  };
  return { source, acked, ackOf: (index: number) => acks[index]!.opened };
}

function ingestInto(raw: RawStore, options: { preFilter?: boolean } = {}) {
  return createIngest(ingestDepsOf(raw, options));
}

function ingestDepsOf(raw: RawStore, options: { preFilter?: boolean } = {}): IngestDeps {
  return {
    raw,
    processor: createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false, ...(options.preFilter ? { storedCopies: raw.storedCopies!.bind(raw) } : {}) }),
    deriveDirtyUsers: async () => NO_DERIVE,
    lateAfterMs: DEFAULT_PIPELINE.lateAfterMs,
    deriveEveryEvents: Number.POSITIVE_INFINITY,
    deriveIntervalMs: Number.POSITIVE_INFINITY,
    // Groups commit by size or because nothing is ready, never by the clock: a loaded machine changes nothing.
    commitEveryMs: Number.POSITIVE_INFINITY,
  };
}

/** The real store, its first commit of a write group held (in flight) until the test releases it. */
function holdingFirstCommit(store: SqliteRawStore) {
  const inFlight = latch();
  const released = latch();
  let commits = 0;
  const raw: RawStore = Object.create(store, {
    commitWriteGroup: {
      value: async () => {
        commits += 1;
        if (commits === 1) {
          inFlight.open();
          await released.opened;
        }
        await store.commitWriteGroup();
      },
    },
  });
  return { raw, inFlight: inFlight.opened, release: () => released.open() };
}

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'jc-ingest-')), 'raw.sqlite');

describe('ingest with grouped commits', () => {
  it('makes a trickling source durable and acknowledged batch by batch, before it waits for more', async () => {
    const path = freshPath();
    const raw = SqliteRawStore.open(path);
    const reader = SqliteRawStore.open(path);
    const seenByAnotherConnection: number[] = [];
    const { source, acked, ackOf } = scriptedSource(3, 5, {
      // The source gives nothing more until what it gave is acknowledged: ingest must commit without
      // waiting for more input (else this never resolves), and another connection (another process) sees it.
      waitAfter: async (index) => {
        await ackOf(index);
        seenByAnotherConnection.push((await reader.counts()).events);
      },
    });
    const summary = await ingestInto(raw)(source);
    expect(summary.accepted).toBe(15);
    expect(seenByAnotherConnection).toEqual([5, 10, 15]);
    expect(acked).toEqual([0, 1, 2]);
    await reader.close();
    await raw.close();
  });

  it("keeps a backlog's group open while the reader catches up, committing by size (docs/decisions/0027)", async () => {
    const store = SqliteRawStore.open(freshPath());
    const committed: number[] = [];
    const counting: RawStore = Object.create(store, {
      commitWriteGroup: {
        value: async () => {
          await store.commitWriteGroup();
          committed.push((await store.counts()).events);
        },
      },
    });
    // The reader gives way after every batch (one turn of the event loop), so the consumer finds
    // nothing ready each time: a trickle commits there; a backlog (a source of known size) does not.
    const input = (totalBytes: number | undefined) =>
      scriptedSource(4, 5, {
        waitAfter: async () => {
          await settle();
        },
        totalBytes,
      });
    const ingest = () => createIngest({ ...ingestDepsOf(counting), linesPerCommit: 10 });
    const backlog = input(4 * 5 * 200);
    expect((await ingest()(backlog.source)).accepted).toBe(20);
    expect(backlog.acked).toEqual([0, 1, 2, 3]);
    // Two commits of at least 10 lines each (the last one at the end of the input).
    expect(committed).toHaveLength(2);
    expect(committed[0]).toBeGreaterThanOrEqual(10);
    expect(committed[1]).toBe(20);
    // The same input as a stream: a commit each time nothing was ready.
    committed.length = 0;
    const stream = input(undefined);
    await ingest()(stream.source);
    expect(committed.length).toBeGreaterThan(2);
    expect(stream.acked).toEqual([0, 1, 2, 3]);
    await store.close();
  });

  it('acknowledges nothing of a group that failed, and leaves none of it stored', async () => {
    const path = freshPath();
    const store = SqliteRawStore.open(path);
    let writes = 0;
    // Large batches arrive all at once (a bulk file), so the first writes are grouped and not yet
    // committed: the first write waits until all six are read, so a next batch is always ready.
    const allRead = latch();
    // The real store, failing its third write: the first two share the open group with it.
    const failing: RawStore = Object.create(store, {
      writeEncodedBatch: {
        value: async (...args: Parameters<RawStore['writeEncodedBatch']>) => {
          writes += 1;
          if (writes === 1) await allRead.opened;
          if (writes === 3) throw new Error('disk full');
          return store.writeEncodedBatch(...args);
        },
      },
    });
    const { source, acked } = scriptedSource(6, 20_000, { atEnd: () => allRead.open() });
    await expect(ingestInto(failing)(source)).rejects.toThrow(/disk full/);
    expect(acked).toEqual([]);
    const reader = SqliteRawStore.open(path);
    expect((await reader.counts()).events).toBe(0);
    await reader.close();
    await store.close();
  });
});

describe('ingest never misses a wake-up', () => {
  // With nothing ready, the consumer commits the open group, then waits for more. What happens while
  // that commit is in flight must still wake it: a wake-up installed only after the commit missed it,
  // and a stopped Kafka consumer hung for good. (A regression hangs: these fail by timeout.)
  it('stores a batch queued while a commit was in flight, though no other batch follows', async () => {
    const store = SqliteRawStore.open(freshPath());
    const held = holdingFirstCommit(store);
    const { source, acked, ackOf } = scriptedSource(2, 5, {
      waitAfter: async (index) => {
        // Batch 1 is read only once batch 0's commit is in flight...
        if (index === 0) await held.inFlight;
        else {
          // ...and is queued now: the commit completes, and the source gives nothing more until batch 1 is acknowledged.
          held.release();
          await ackOf(1);
        }
      },
    });
    const summary = await ingestInto(held.raw)(source);
    expect(summary.accepted).toBe(10);
    expect(acked).toEqual([0, 1]);
    await store.close();
  }, 20_000);

  it('ends when the input ended while a commit was in flight', async () => {
    const store = SqliteRawStore.open(freshPath());
    const held = holdingFirstCommit(store);
    const { source, acked } = scriptedSource(1, 5, {
      waitAfter: () => held.inFlight,
      // The input ends (ingest sees it within the promise reactions that follow); only then the commit completes.
      atEnd: () => void settle().then(held.release),
    });
    const summary = await ingestInto(held.raw)(source);
    expect(summary.accepted).toBe(5);
    expect(acked).toEqual([0]);
    await store.close();
  }, 20_000);
});

describe('re-ingest with the pre-filter (docs/decisions/0026)', () => {
  const oneBatch = (lines: string[], arrivedAt: number): LineSource => ({
    description: 'test',
    totalBytes: undefined,
    async *batches() {
      yield { lines, arrivedAt, ack: async () => {} };
    },
    async close() {},
  });
  /** Everything a later step reads of the raw store. */
  const contents = async (raw: RawStore) => ({
    counts: await raw.counts(),
    rejected: await (async () => {
      const lines = [];
      for await (const rejected of raw.streamRejected({})) lines.push(rejected);
      return lines;
    })(),
    events: (await raw.eventsByIdentity([...Array.from({ length: 7 }, (_, i) => `u-${i}`), 'anon'])).sort((a, b) => a.messageId.localeCompare(b.messageId)),
    received: await raw.receivedLineCounts(60_000),
    dirty: await raw.listDirtyIds(1_000),
  });
  const at = Date.UTC(2026, 0, 5, 12);
  const unclaimed = JSON.stringify({ type: 'track', event: 'page_viewed', messageId: 'm-unclaimed', anonymousId: 'anon', timestamp: '2026-01-05T10:00:00Z', context: { app: { version: '1.0' } } });
  const retry = line(1).replace('"properties":{}', '"properties":{"retry":true}');
  const input = [...Array.from({ length: 30 }, (_, i) => line(i)), unclaimed, retry, 'not json', line(3)];

  it('changes nothing and reports what the normal path reports, for later and earlier arrivals alike', async () => {
    for (const rerunAt of [at + 3_600_000, at - 3_600_000]) {
      const [plain, filtered] = [SqliteRawStore.open(freshPath()), SqliteRawStore.open(freshPath())];
      for (const raw of [plain, filtered]) await ingestInto(raw)(oneBatch(input, at));
      for (const raw of [plain, filtered]) await raw.clearDirtyIds(await raw.listDirtyIds(1_000));
      const normal = await ingestInto(plain)(oneBatch(input, rerunAt));
      const lookedUp = counting(filtered, rerunAt);
      const summary = await ingestInto(lookedUp.raw, { preFilter: true })(oneBatch(input, rerunAt));
      expect(summary).toEqual(normal);
      expect(await contents(filtered)).toEqual(await contents(plain));
      // Later: every stored line skips the per-line stages; earlier: the line dated by its arrival does not (it replaces).
      expect(lookedUp.skipped()).toBe(rerunAt > at ? 32 : 31);
      expect(normal.replaced).toBe(rerunAt > at ? 0 : 1);
      await Promise.all([plain.close(), filtered.close()]);
    }
  });

  /** The store, counting the lines its pre-filter look-up lets skip the per-line stages (stored, received no later). */
  function counting(store: SqliteRawStore, arrivedAt: number) {
    let skipped = 0;
    const raw: RawStore = Object.create(store, {
      storedCopies: {
        value: async (keys: Parameters<NonNullable<RawStore['storedCopies']>>[0]) => {
          const copies = await store.storedCopies!(keys);
          skipped += copies.filter((copy) => copy !== null && copy.receivedAt <= arrivedAt).length;
          return copies;
        },
      },
    });
    return { raw, skipped: () => skipped };
  }
});

describe('timed derives while the source is behind', () => {
  // Every batch is its own write group (the source waits for its ack), and every timed derive is
  // due by the clock (interval 0): only how far behind the source says it is decides.
  async function storedAtEachDerive(behind: readonly number[] | undefined, deferWhileBehind?: { lines: number; maxMs: number }): Promise<number[]> {
    const raw = SqliteRawStore.open(freshPath());
    const stored: number[] = [];
    const { source, ackOf } = scriptedSource(4, 5, { waitAfter: (index) => ackOf(index), ...(behind ? { behind: (index: number) => behind[index]! } : {}) });
    await createIngest({
      raw,
      processor: createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false }),
      deriveDirtyUsers: async () => {
        stored.push((await raw.counts()).events);
        return NO_DERIVE;
      },
      lateAfterMs: DEFAULT_PIPELINE.lateAfterMs,
      deriveEveryEvents: Number.POSITIVE_INFINITY,
      deriveIntervalMs: 0,
      commitEveryMs: Number.POSITIVE_INFINITY,
      ...(deferWhileBehind ? { deferWhileBehind } : {}),
    })(source);
    raw.close();
    return stored;
  }

  // The last derive (20) is the one every ingest ends with.
  it('are held while at least `lines` wait behind a batch, and run once it has caught up', async () => {
    expect(await storedAtEachDerive([100, 50, 0, 100], { lines: 50, maxMs: Number.POSITIVE_INFINITY })).toEqual([15, 20]);
    expect(await storedAtEachDerive([100, 49, 0, 100], { lines: 50, maxMs: Number.POSITIVE_INFINITY })).toEqual([10, 15, 20]);
  });

  it('are held no longer than maxMs, and not at all where the source cannot say or nothing defers them', async () => {
    expect(await storedAtEachDerive([100, 100, 100, 100], { lines: 50, maxMs: 0 })).toEqual([5, 10, 15, 20, 20]);
    expect(await storedAtEachDerive(undefined, { lines: 50, maxMs: Number.POSITIVE_INFINITY })).toEqual([5, 10, 15, 20, 20]);
    expect(await storedAtEachDerive([100, 100, 100, 100])).toEqual([5, 10, 15, 20, 20]);
  });
});
