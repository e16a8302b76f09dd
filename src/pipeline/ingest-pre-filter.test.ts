import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../config/config.js';
import type { RawStore } from '../stores/raw-store.js';
import { SqliteRawStore } from '../stores/sqlite/sqlite-raw-store.js';
import type { LineSource } from '../sources/source.js';
import { createIngest } from './ingest.js';
import { createLineProcessor, type LineProcessor, type LineProcessorOptions } from './line-processor.js';

// The re-ingest pre-filter with the look-up on the line worker's own read-only connection
// (docs/decisions/0026): it sees only committed rows, so a line whose first copy this run is
// still writing (an open write group) misses and takes the normal path, which dedups it. The
// outcome must be the same as without the pre-filter whichever rows it happens to see. So must
// it with two lanes taking hitting batches in turn, each on a connection of its own.

const NO_DERIVE = { users: 0, sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 };
const DEPS = { pipeline: DEFAULT_PIPELINE, trackingPlan: null };
const AT = Date.UTC(2026, 0, 5, 12);

function line(index: number, extra = ''): string {
  const at = new Date(Date.UTC(2026, 0, 5, 10, 0, index)).toISOString();
  return `{"type":"track","event":"page_viewed","messageId":"m-${index}","userId":"u-${index % 7}","timestamp":"${at}","sentAt":"${at}","receivedAt":"${at}","properties":{${extra}}}`;
}
/** A line dated by its arrival (no receivedAt of its own). */
const unclaimed = (index: number) => `{"type":"track","event":"page_viewed","messageId":"a-${index}","anonymousId":"anon","timestamp":"2026-01-05T10:00:00Z"}`;

const first = [...Array.from({ length: 30 }, (_, i) => line(i)), unclaimed(0), 'not json', line(3)];
// Stored lines, new lines, new lines again in later batches (the same bytes, and other bytes), a rejected line again.
const second = [
  ...first,
  ...Array.from({ length: 20 }, (_, i) => line(100 + i)),
  unclaimed(1),
  ...Array.from({ length: 10 }, (_, i) => line(100 + i)),
  line(101, '"retry":true'),
  unclaimed(1),
  'not json',
];

function source(lines: readonly string[], batchSize: number, arrivedAt: number): LineSource {
  return {
    description: 'test',
    totalBytes: undefined,
    async *batches() {
      for (let start = 0; start < lines.length; start += batchSize) yield { lines: lines.slice(start, start + batchSize), arrivedAt, ack: async () => {} };
    },
    async close() {},
  };
}

/** The processor, counting the lines the pre-filter let skip the per-line stages. */
function counting(processor: LineProcessor) {
  let skipped = 0;
  const wrapped: LineProcessor = {
    async process(lines, arrivedAt) {
      const batch = await processor.process(lines, arrivedAt);
      skipped += batch.stored.length;
      return batch;
    },
    close: () => processor.close(),
  };
  return { processor: wrapped, skipped: () => skipped };
}

const ingest = (raw: RawStore, processor: LineProcessor, linesPerCommit: number) =>
  createIngest({
    raw,
    processor,
    deriveDirtyUsers: async () => NO_DERIVE,
    lateAfterMs: DEFAULT_PIPELINE.lateAfterMs,
    deriveEveryEvents: Number.POSITIVE_INFINITY,
    deriveIntervalMs: Number.POSITIVE_INFINITY,
    linesPerCommit,
    commitEveryMs: Number.POSITIVE_INFINITY,
  });

/** Everything a later step reads of the raw store. */
async function contents(raw: RawStore) {
  const rejected = [];
  for await (const line of raw.streamRejected({})) rejected.push(line);
  return {
    counts: await raw.counts(),
    rejected,
    events: (await raw.eventsByIdentity([...Array.from({ length: 7 }, (_, i) => `u-${i}`), 'anon'])).sort((a, b) => a.messageId.localeCompare(b.messageId)),
    received: await raw.receivedLineCounts(60_000),
    // Which ids are dirty; not their marks, generation numbers of the writes, which group batches
    // by what is ready when (with or without a pre-filter).
    dirty: (await raw.listDirtyIds(1_000)).map((dirty) => dirty.id),
  };
}

it('a look-up on its own connection changes nothing the normal path would not, whatever it sees committed', async () => {
  // One write group for the whole run (the look-up sees no row of this run), and one per batch.
  for (const linesPerCommit of [1_000_000, 10]) {
    for (const rerunAt of [AT + 3_600_000, AT - 3_600_000]) {
      const stores = Array.from({ length: 4 }, () => SqliteRawStore.open(join(mkdtempSync(join(tmpdir(), 'jc-pf-')), 'raw.sqlite')));
      for (const raw of stores) await ingest(raw, createLineProcessor(DEPS, { threads: false }), linesPerCommit)(source(first, 10, AT));
      for (const raw of stores) await raw.clearDirtyIds(await raw.listDirtyIds(1_000));
      const [plain, onMain, withReader, twoLanes] = stores as [SqliteRawStore, SqliteRawStore, SqliteRawStore, SqliteRawStore];
      const options: Array<LineProcessorOptions> = [
        {},
        { storedCopies: onMain.storedCopies.bind(onMain) },
        { storedCopiesReader: async () => withReader.storedCopiesReader() },
        { storedCopiesReader: async () => twoLanes.storedCopiesReader(), filterLanes: 2 },
      ];
      const runs = stores.map((raw, i) => ({ raw, ...counting(createLineProcessor(DEPS, { threads: false, ...options[i] })) }));
      const summaries = [];
      for (const run of runs) summaries.push(await ingest(run.raw, run.processor, linesPerCommit)(source(second, 10, rerunAt)));
      const label = `${linesPerCommit} lines per commit, rerun ${rerunAt > AT ? 'later' : 'earlier'}`;
      expect(summaries[1], label).toEqual(summaries[0]);
      expect(summaries[2], label).toEqual(summaries[0]);
      expect(summaries[3], label).toEqual(summaries[0]);
      expect(await contents(onMain), label).toEqual(await contents(plain));
      expect(await contents(withReader), label).toEqual(await contents(plain));
      expect(await contents(twoLanes), label).toEqual(await contents(plain));
      // The 32 stored accepted lines skip (31 when earlier: the line dated by its arrival replaces);
      // lines first stored by this run may skip too, once committed.
      const storedBefore = rerunAt > AT ? 32 : 31;
      expect(runs[1]!.skipped(), label).toBeGreaterThanOrEqual(storedBefore);
      expect(runs[2]!.skipped(), label).toBeGreaterThanOrEqual(storedBefore);
      expect(runs[3]!.skipped(), label).toBeGreaterThanOrEqual(storedBefore);
      if (linesPerCommit > second.length) expect(runs[2]!.skipped(), label).toBe(storedBefore);
      if (linesPerCommit > second.length) expect(runs[3]!.skipped(), label).toBe(storedBefore);
      await Promise.all(stores.map((raw) => raw.close()));
    }
  }
}, 30_000);
