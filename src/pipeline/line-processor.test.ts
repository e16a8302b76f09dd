import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../config/config.js';
import type { LineKey, StoredCopy } from '../stores/ports/event-log.js';
import { SqliteRawStore } from '../stores/sqlite/sqlite-raw-store.js';
import { createLineProcessor, keysOf, messageIdOf, processToWire } from './line-processor.js';
import { createProcessLine } from './process-line.js';

const line = (id: string) => JSON.stringify({ type: 'track', messageId: id, event: 'page_viewed', anonymousId: 'a', timestamp: '2026-01-05T10:00:00Z' });
const JAN_5 = Date.parse('2026-01-05T10:00:00Z');

describe('the line processor over stored lines (reprocess)', () => {
  it('takes one arrival time per line and says which line each accepted event came from', async () => {
    const processor = createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false });
    const lines = [line('m1'), 'not json', line('m2'), line('m3')];
    const arrivals = [JAN_5 + 1_000, JAN_5 + 2_000, JAN_5 + 3_000, JAN_5 + 4_000];
    const batch = await processor.process(lines, arrivals);
    expect(batch.accepted.map((e) => [e.messageId, e.receivedAt])).toEqual([
      ['m1', JAN_5 + 1_000],
      ['m2', JAN_5 + 3_000],
      ['m3', JAN_5 + 4_000],
    ]);
    expect(batch.acceptedLines).toEqual([0, 2, 3]);
    expect(batch.rejected.map((r) => [r.reason, r.receivedAt])).toEqual([['invalid_json', JAN_5 + 2_000]]);
    // Each line as it would be validated alone at its own arrival time.
    const alone = createProcessLine({ pipeline: DEFAULT_PIPELINE, trackingPlan: null });
    for (const [i, index] of batch.acceptedLines.entries()) {
      const outcome = alone(lines[index]!, arrivals[index]!);
      expect(outcome.ok && outcome.event.eventTime).toBe(batch.accepted[i]!.eventTime);
    }
    await processor.close();
  });

  it('leaves the hash out when asked (hashLines: false) and changes nothing else', async () => {
    const hashed = createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false });
    const unhashed = createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null, hashLines: false }, { threads: false });
    const lines = [line('m1'), '{"type":"track"}'];
    const [withHash, withoutHash] = await Promise.all([hashed.process(lines, JAN_5), unhashed.process(lines, JAN_5)]);
    expect(withHash.accepted[0]!.rawHash).toMatch(/^[0-9a-f]{64}$/);
    expect(withoutHash.accepted[0]!.rawHash).toBe('');
    expect({ ...withoutHash.accepted[0], rawHash: null }).toEqual({ ...withHash.accepted[0], rawHash: null });
    expect(withoutHash.rejected.map((r) => r.reason)).toEqual(withHash.rejected.map((r) => r.reason));
    await Promise.all([hashed.close(), unhashed.close()]);
  });
});

describe('the re-ingest pre-filter', () => {
  it('reads a message id without parsing, and gives up rather than guess on escapes', () => {
    expect(messageIdOf(line('m1'))).toBe('m1');
    expect(messageIdOf('{"messageId":"a\\"b","x":1}')).toBeNull();
    expect(messageIdOf('{"messageId": "spaced"}')).toBeNull();
    expect(messageIdOf('{"messageId":""}')).toBeNull();
    expect(messageIdOf('not json')).toBeNull();
    // The hash is processLine's rawHash; a line that is not text is never looked up.
    const alone = createProcessLine({ pipeline: DEFAULT_PIPELINE, trackingPlan: null });
    const outcome = alone(line('m1'), JAN_5);
    expect(keysOf([line('m1'), 'x\ud800'])).toEqual({ hashes: [outcome.ok ? outcome.event.rawHash : '?', ''], messageIds: ['m1', null] });
  });

  it('runs the per-line stages only for lines the store does not hold received no later, in line order', async () => {
    const lines = [line('m1'), 'not json', line('m2'), line('m3'), line('m4')];
    const arrivedAt = JAN_5 + 60_000;
    const full = createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false });
    const everything = await full.process(lines, arrivedAt);
    const hashOf = (id: string) => everything.accepted.find((e) => e.messageId === id)!.rawHash;
    const asked: LineKey[][] = [];
    // m1 stored byte-identically; m2 stored but received after this arrival (this copy would replace it); m3 stored with other bytes.
    const stored = new Map<string, StoredCopy & { rawHash: string }>([
      ['m1', { rawHash: hashOf('m1'), receivedAt: arrivedAt - 1, eventTime: JAN_5 }],
      ['m2', { rawHash: hashOf('m2'), receivedAt: arrivedAt + 1, eventTime: JAN_5 }],
      ['m3', { rawHash: 'other', receivedAt: JAN_5, eventTime: JAN_5 }],
    ]);
    const processor = createLineProcessor(
      { pipeline: DEFAULT_PIPELINE, trackingPlan: null },
      {
        threads: false,
        storedCopies: async (keys) => {
          asked.push([...keys]);
          return keys.map((key) => {
            const copy = key.messageId === null ? undefined : stored.get(key.messageId);
            return copy && copy.rawHash === key.rawHash ? { receivedAt: copy.receivedAt, eventTime: copy.eventTime } : null;
          });
        },
      },
    );
    const batch = await processor.process(lines, arrivedAt);
    expect(asked[0]!.map((key) => key.messageId)).toEqual(['m1', null, 'm2', 'm3', 'm4']);
    expect(batch.stored).toEqual([{ receivedAt: arrivedAt - 1, eventTime: JAN_5 }]);
    expect(batch.accepted).toEqual(everything.accepted.slice(1));
    expect(batch.acceptedLines).toEqual([2, 3, 4]);
    expect(batch.rejected).toEqual(everything.rejected);
    // That batch mostly missed (1 of 5): the next ones are looked up only one in 20 (a first run pays one probe in many).
    for (let i = 0; i < 20; i += 1) await processor.process(lines, arrivedAt);
    expect(asked.length).toBe(2);
    await Promise.all([full.close(), processor.close()]);
  });

  it("looks up on the stages' own connection (a reader) with the same outcome as on the main thread, each line hashed once", async () => {
    const lines = [line('m1'), 'not json', line('m2'), line('m3'), line('m4'), line('m1')];
    const arrivedAt = JAN_5 + 60_000;
    const store = SqliteRawStore.open(join(mkdtempSync(join(tmpdir(), 'jc-lp-')), 'raw.sqlite'));
    const full = createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false });
    const everything = await full.process(lines, arrivedAt);
    const byId = (id: string) => everything.accepted.find((e) => e.messageId === id)!;
    // m1 stored byte-identically, m2 received after this arrival, m3 with other bytes; m4 not at all.
    await store.writeEncodedBatch(
      [
        { ...byId('m1'), receivedAt: arrivedAt - 1 },
        { ...byId('m2'), receivedAt: arrivedAt + 1 },
        { ...byId('m3'), rawHash: 'other', raw: '{}' },
      ],
      [],
    );
    const deps = { pipeline: DEFAULT_PIPELINE, trackingPlan: null };
    const onMain = createLineProcessor(deps, { threads: false, storedCopies: store.storedCopies.bind(store) });
    const withReader = createLineProcessor(deps, { threads: false, storedCopiesReader: async () => store.storedCopiesReader() });
    const [expected, batch] = [await onMain.process(lines, arrivedAt), await withReader.process(lines, arrivedAt)];
    expect(batch).toEqual(expected);
    expect(batch.stored).toEqual([
      { receivedAt: arrivedAt - 1, eventTime: byId('m1').eventTime },
      { receivedAt: arrivedAt - 1, eventTime: byId('m1').eventTime },
    ]);
    expect(batch.acceptedLines).toEqual([2, 3, 4]);
    expect(batch.accepted).toEqual(everything.accepted.filter((e) => e.messageId !== 'm1'));
    // Every line stored: nothing to process; per-line arrival times take the same path. (A new
    // processor: after a batch that mostly missed, withReader looks up one batch in 20.)
    const again = createLineProcessor(deps, { threads: false, storedCopiesReader: async () => store.storedCopiesReader() });
    const stored = await again.process([line('m1')], [arrivedAt]);
    expect(stored).toEqual({ accepted: [], acceptedLines: [], rejected: [], stored: [{ receivedAt: arrivedAt - 1, eventTime: byId('m1').eventTime }] });
    // A reader that cannot open answers nothing: every line takes the normal path.
    const broken = createLineProcessor(deps, { threads: false, storedCopiesReader: async () => ({ engine: 'sqlite', path: join(tmpdir(), 'jc-no-such-dir', 'raw.sqlite') }) });
    expect(await broken.process(lines, arrivedAt)).toEqual(everything);
    await Promise.all([full.close(), onMain.close(), withReader.close(), again.close(), broken.close(), store.close()]);
  });

  it('the per-line stages store the hash the pre-filter computed instead of hashing again', () => {
    const processLine = createProcessLine({ pipeline: DEFAULT_PIPELINE, trackingPlan: null });
    const wire = processToWire(processLine, [line('m1'), 'not json'], JAN_5, ['known-1', 'known-2']);
    expect(wire.strings[11]).toBe('known-1');
    expect(wire.strings.slice(13)).toContain('known-2');
  });
});
