import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RejectedLine } from '../domain/event.js';
import { DEFAULT_FLAG_SETTINGS } from '../journeys/flags.js';
import { accepted } from '../stores/raw-store.conformance.js';
import { SqliteRawStore } from '../stores/sqlite/sqlite-raw-store.js';
import { createSignalsRefresher, readStoredBursts } from './journey-signals.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 6, 12);
const bad = (i: number, at: number): RejectedLine => ({
  raw: JSON.stringify({ messageId: `bad-${i}`, anonymousId: `victim-${i % 3}`, event: 'buton_clicked', context: { app: { version: '9.9.9' } } }),
  rawHash: `bad-${i}`,
  reason: 'unplanned_event',
  detail: 'x',
  receivedAt: at,
  messageId: `bad-${i}`,
  event: 'buton_clicked',
  appVersion: '9.9.9',
});

describe('journey signals refresher', () => {
  it('persists changed bursts, marks the users they touch dirty, and detects again at most once per interval unless forced', async () => {
    const raw = SqliteRawStore.open(join(mkdtempSync(join(tmpdir(), 'jc-signals-')), 'raw.sqlite'));
    let clock = 0;
    const refresher = createSignalsRefresher(raw, DEFAULT_FLAG_SETTINGS, { burstIntervalMs: 60_000, now: () => clock });
    const normal = Array.from({ length: 200 }, (_, i) =>
      accepted({ messageId: `ok-${i}`, identityKey: `u${i % 20}`, anonymousId: `u${i % 20}`, receivedAt: T0 - 3 * 60 * MIN + i * MIN, eventTime: T0 - 3 * 60 * MIN + i * MIN, rawHash: `ok-${i}` }),
    );
    await raw.writeBatch(
      normal,
      Array.from({ length: 25 }, (_, i) => bad(i, T0 + i * MIN)),
    );
    await raw.clearDirtyIds(await raw.listDirtyIds(1_000));
    const first = await refresher.refresh({ persist: true });
    expect(first.burstsChanged).toBe(true);
    expect(first.bursts).toMatchObject([{ appVersion: '9.9.9', windowStart: T0, windowEnd: T0 + 30 * MIN, rejected: 25 }]);
    expect(await readStoredBursts(raw)).toEqual(first.bursts);
    // Users with events in the window and the ids on the rejected lines.
    const dirty = (await raw.listDirtyIds(1_000)).map((d) => d.id);
    expect(dirty).toEqual(expect.arrayContaining(['victim-0', 'victim-1', 'victim-2']));
    expect(refresher.current().burstHits.get('victim-0')).toHaveLength(9);
    expect((await refresher.refresh({ persist: true })).burstsChanged).toBe(false);

    // More buggy lines within the interval: not detected yet; forced (input ended), or a minute later, they are.
    await raw.writeBatch(
      [],
      Array.from({ length: 5 }, (_, i) => bad(100 + i, T0 + 30 * MIN + i * MIN)),
    );
    clock += 10_000;
    expect((await refresher.refresh({ persist: true })).burstsChanged).toBe(false);
    const forced = await refresher.refresh({ persist: true, force: true });
    expect(forced.burstsChanged).toBe(true);
    expect(forced.bursts).toMatchObject([{ windowEnd: T0 + 40 * MIN, rejected: 30 }]);
    await raw.close();
  });

  it('waits ten times as long as the last detection took when that is longer than the interval', async () => {
    const store = SqliteRawStore.open(join(mkdtempSync(join(tmpdir(), 'jc-signals-')), 'raw.sqlite'));
    let clock = 0;
    let detections = 0;
    // A store whose detection takes 20 s of the (injected) clock, as a very large one would.
    const slow = Object.assign(Object.create(store) as SqliteRawStore, {
      receivedLineCounts: async (...args: Parameters<SqliteRawStore['receivedLineCounts']>) => {
        detections += 1;
        clock += 20_000;
        return store.receivedLineCounts(...args);
      },
    });
    const refresher = createSignalsRefresher(slow, DEFAULT_FLAG_SETTINGS, { burstIntervalMs: 60_000, now: () => clock });
    const arrive = async (i: number) => store.writeBatch([], [bad(i, T0 + i * MIN)]);
    await arrive(0);
    await refresher.refresh();
    expect(detections).toBe(1);
    for (const [i, at, expected] of [
      [1, 80_000, 1],
      [2, 219_000, 1],
      [3, 220_000, 2],
    ] as const) {
      await arrive(i);
      clock = at;
      await refresher.refresh();
      expect(detections, `refresh at ${at} ms`).toBe(expected);
    }
    await refresher.refresh({ force: true });
    expect(detections).toBe(2);
    await arrive(4);
    await refresher.refresh({ force: true });
    expect(detections).toBe(3);
    await store.close();
  });
});
