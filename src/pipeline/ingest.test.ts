import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../config/config.js';
import type { RawStore } from '../stores/raw-store.js';
import { SqliteRawStore } from '../stores/sqlite/sqlite-raw-store.js';
import type { LineBatch, LineSource } from '../sources/source.js';
import { createIngest } from './ingest.js';
import { createLineProcessor } from './line-processor.js';

const NO_DERIVE = { users: 0, sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 };

function line(index: number): string {
  const at = new Date(Date.UTC(2026, 0, 5, 10, 0, index)).toISOString();
  return JSON.stringify({ type: 'track', event: 'page_viewed', messageId: `m-${index}`, userId: `u-${index % 7}`, timestamp: at, sentAt: at, receivedAt: at, properties: {} });
}

/** Batches of `size` lines; `pause` decides, after each batch, whether the next one waits (a trickle) — and records what was acked. */
function scriptedSource(batches: number, size: number, options: { waitAfter?: (index: number) => Promise<void> } = {}) {
  const acked: number[] = [];
  const source: LineSource = {
    description: 'test',
    totalBytes: undefined,
    async *batches(): AsyncIterable<LineBatch> {
      for (let index = 0; index < batches; index += 1) {
        const lines = Array.from({ length: size }, (_, offset) => line(index * size + offset));
        yield { lines, arrivedAt: Date.UTC(2026, 0, 5, 12), ack: async () => void acked.push(index) };
        await options.waitAfter?.(index);
      }
    },
    async close() {},
  };
  return { source, acked };
}

function ingestInto(raw: RawStore) {
  return createIngest({
    raw,
    processor: createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false }),
    deriveDirtyUsers: async () => NO_DERIVE,
    lateAfterMs: DEFAULT_PIPELINE.lateAfterMs,
    deriveEveryEvents: Number.POSITIVE_INFINITY,
    deriveIntervalMs: Number.POSITIVE_INFINITY,
  });
}

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'jc-ingest-')), 'raw.sqlite');

describe('ingest with grouped commits', () => {
  it('makes a trickling source durable and acknowledged batch by batch, before it waits for more', async () => {
    const path = freshPath();
    const raw = SqliteRawStore.open(path);
    const reader = SqliteRawStore.open(path);
    const seenByAnotherConnection: number[] = [];
    const { source, acked } = scriptedSource(3, 5, {
      // While the source waits for input, another connection (another process) already sees what was read so far.
      waitAfter: async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
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

  it('acknowledges nothing of a group that failed, and leaves none of it stored', async () => {
    const path = freshPath();
    const store = SqliteRawStore.open(path);
    let writes = 0;
    // The real store, failing its third write: the first two share the open group with it.
    const failing: RawStore = Object.create(store, {
      writeEncodedBatch: {
        value: async (...args: Parameters<RawStore['writeEncodedBatch']>) => {
          writes += 1;
          if (writes === 3) throw new Error('disk full');
          return store.writeEncodedBatch(...args);
        },
      },
    });
    // Large batches arrive all at once (a bulk file), so the first writes are grouped and not yet committed.
    const { source, acked } = scriptedSource(6, 20_000);
    await expect(ingestInto(failing)(source)).rejects.toThrow(/disk full/);
    expect(acked).toEqual([]);
    const reader = SqliteRawStore.open(path);
    expect((await reader.counts()).events).toBe(0);
    await reader.close();
    await store.close();
  });
});
