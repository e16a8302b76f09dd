import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../../config/config.js';
import { createIngest } from '../../pipeline/ingest.js';
import { createLineProcessor } from '../../pipeline/line-processor.js';
import type { LineSource } from '../../sources/source.js';
import { accepted } from '../raw-store.conformance.js';
import { bulkLoadState, SECONDARY_INDEXES } from '../../../test/helpers/bulk-load.js';
import { BULK_LOAD_META } from './sqlite-schema.js';
import { SqliteRawStore } from './sqlite-raw-store.js';

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'jc-bulk-')), 'raw.sqlite');

describe('bulk load into an empty SQLite raw store (docs/decisions/0028)', () => {
  it('drops the read-only indexes, keeps reads correct meanwhile, and builds them at the end', async () => {
    const path = freshPath();
    const writer = SqliteRawStore.open(path);
    expect(bulkLoadState(path).indexes).toEqual(SECONDARY_INDEXES);
    expect(await writer.beginBulkLoad()).toBe(true);
    expect(bulkLoadState(path)).toEqual({ indexes: [], note: JSON.stringify({ pid: process.pid, hostname: hostname() }) });

    await writer.writeBatch(
      [
        accepted({ messageId: 'm1', identityKey: 'u1', userId: 'u1', anonymousId: 'a1', eventTime: 10 }),
        accepted({ messageId: 'm2', identityKey: 'u2', userId: 'u2', anonymousId: 'a1', eventTime: 20 }),
        accepted({ messageId: 'm1', identityKey: 'u1', userId: 'u1', anonymousId: 'a1', eventTime: 10 }),
      ],
      [],
    );
    // Another process opening beside a live bulk load (this pid) reads without the indexes and builds none.
    const beside = SqliteRawStore.open(path);
    expect(bulkLoadState(path).indexes).toEqual([]);
    expect((await beside.eventsByIdentity(['u1'])).map((event) => event.messageId)).toEqual(['m1']);
    expect(await beside.identityKeysInRange({ from: 15, to: 25 })).toEqual(['u2']);
    expect(await beside.anonymousIdUsers({ minUsers: 2, anonymousIds: ['a1'] })).toEqual([
      {
        anonymousId: 'a1',
        users: [
          { userId: 'u1', firstAt: 10 },
          { userId: 'u2', firstAt: 20 },
        ],
      },
    ]);
    await beside.close();

    await writer.endBulkLoad();
    expect(bulkLoadState(path)).toEqual({ indexes: SECONDARY_INDEXES, note: null });
    const plan = new Database(path, { readonly: true });
    expect(JSON.stringify(plan.prepare('EXPLAIN QUERY PLAN SELECT * FROM raw_events WHERE identity_key = ?').all('u1'))).toContain('raw_events_identity_time');
    plan.close();
    expect((await writer.eventsByIdentity(['u1', 'u2'])).map((event) => event.messageId).sort()).toEqual(['m1', 'm2']);
    await writer.close();
  });

  it('dedups in memory while the message-key index is dropped: the same rows as the indexed path', async () => {
    // Retries (same id, other bytes), earlier-received copies that replace the stored one,
    // byte-identical repeats, across write groups, one of them rolled back.
    let seed = 2026;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const batches = Array.from({ length: 12 }, (_, b) =>
      Array.from({ length: 300 }, () => {
        const id = Math.floor(random() * 900);
        const retry = Math.floor(random() * 3);
        return accepted({
          messageId: `m${id}`,
          identityKey: `u${id % 40}`,
          userId: `u${id % 40}`,
          anonymousId: `a${id % 55}`,
          eventTime: 1_000 + id,
          receivedAt: 60_000 * (b + 1) - retry * 1_000,
          raw: `{"id":${id},"retry":${retry}}`,
          rawHash: `h${id}-${retry}`,
        });
      }),
    );
    const SEED_MINUTE = 9_000_000_000;
    const load = async (bulk: boolean) => {
      const path = freshPath();
      const store = SqliteRawStore.open(path);
      // The indexed path: a store holding one row never begins a bulk load.
      if (!bulk) await store.writeBatch([accepted({ messageId: 'seed-row', identityKey: 'seed', receivedAt: SEED_MINUTE })], []);
      expect(await store.beginBulkLoad()).toBe(bulk);
      for (const [index, batch] of batches.entries()) {
        await store.beginWriteGroup();
        await store.writeBatch(batch, []);
        if (index === 5) await store.abandonWriteGroup();
        else await store.commitWriteGroup();
      }
      // While loading, a look-up of stored copies answers nothing rather than scan the table.
      if (bulk) expect(await store.storedCopies([{ rawHash: batches[0]![0]!.rawHash, messageId: batches[0]![0]!.messageId }])).toEqual([null]);
      await store.endBulkLoad();
      await store.close();
      const db = new Database(path, { readonly: true });
      const rows = {
        events: db.prepare(`SELECT message_id, message_key, identity_key, received_at, raw, raw_hash FROM raw_events WHERE message_id != 'seed-row' ORDER BY message_id`).all(),
        copies: db.prepare('SELECT * FROM raw_copies ORDER BY 1, 2').all(),
        minutes: db.prepare(`SELECT minute, app_version, kind, sum(lines) FROM received_minutes GROUP BY 1, 2, 3 HAVING sum(lines) != 0 ORDER BY 1, 2, 3`).all(),
        indexes: db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name LIKE 'raw_events_%'`).get(),
      };
      db.close();
      return rows;
    };
    const indexed = await load(false);
    const inMemory = await load(true);
    expect(indexed.events.length).toBeGreaterThan(600);
    expect(indexed.copies.length).toBeGreaterThan(600);
    expect(inMemory.events).toEqual(indexed.events);
    expect(inMemory.copies).toEqual(indexed.copies);
    // The seed row's minute aside, the tallies agree.
    expect(inMemory.minutes).toEqual(indexed.minutes.filter((row) => (row as { minute: number }).minute !== SEED_MINUTE));
    expect(inMemory.indexes).toEqual(indexed.indexes);
  });

  it('does not begin on a store that holds an event', async () => {
    const path = freshPath();
    const store = SqliteRawStore.open(path);
    await store.writeBatch([accepted({ messageId: 'm1' })], []);
    expect(await store.beginBulkLoad()).toBe(false);
    expect(bulkLoadState(path)).toEqual({ indexes: SECONDARY_INDEXES, note: null });
    await store.close();
  });

  it('finishes a bulk load whose process died when the store is next opened', async () => {
    const path = freshPath();
    const store = SqliteRawStore.open(path);
    expect(await store.beginBulkLoad()).toBe(true);
    await store.writeBatch([accepted({ messageId: 'm1', identityKey: 'u1' })], []);
    await store.close();
    // The note names a process that has exited, as after a SIGKILL mid-file.
    const exited = spawnSync(process.execPath, ['-e', '']).pid;
    const db = new Database(path);
    db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(JSON.stringify({ pid: exited, hostname: hostname() }), BULK_LOAD_META);
    db.close();
    const reopened = SqliteRawStore.open(path);
    expect(bulkLoadState(path)).toEqual({ indexes: SECONDARY_INDEXES, note: null });
    expect((await reopened.eventsByIdentity(['u1'])).map((event) => event.messageId)).toEqual(['m1']);
    await reopened.close();
  });

  it('is how ingest stores a backlog into an empty store: no read-only index while writing, all of them before deriving', async () => {
    const path = freshPath();
    const raw = SqliteRawStore.open(path);
    const whileWriting: string[][] = [];
    const atDerive: string[][] = [];
    const lines = (from: number) =>
      Array.from({ length: 5 }, (_, i) => {
        const at = new Date(Date.UTC(2026, 0, 5, 10, 0, from + i)).toISOString();
        return JSON.stringify({ type: 'track', event: 'page_viewed', messageId: `m-${from + i}`, userId: `u-${i % 2}`, timestamp: at, sentAt: at, receivedAt: at, properties: {} });
      });
    const source = (totalBytes: number | undefined): LineSource => ({
      description: 'test',
      totalBytes,
      async *batches() {
        for (const from of [0, 5]) {
          yield { lines: lines(from), arrivedAt: Date.UTC(2026, 0, 5, 12), ack: async () => {} };
          whileWriting.push(bulkLoadState(path).indexes);
        }
      },
      async close() {},
    });
    const ingest = createIngest({
      raw,
      processor: createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false }),
      deriveDirtyUsers: async () => {
        atDerive.push(bulkLoadState(path).indexes);
        return { users: 0, sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 };
      },
      lateAfterMs: DEFAULT_PIPELINE.lateAfterMs,
      deriveEveryEvents: Number.POSITIVE_INFINITY,
      deriveIntervalMs: Number.POSITIVE_INFINITY,
      commitEveryMs: Number.POSITIVE_INFINITY,
    });
    expect((await ingest(source(1_000))).accepted).toBe(10);
    expect(whileWriting).toEqual([[], []]);
    expect(atDerive).toEqual([SECONDARY_INDEXES]);
    expect(bulkLoadState(path).note).toBeNull();

    // A second backlog into the same (no longer empty) store keeps its indexes throughout.
    whileWriting.length = 0;
    expect((await ingest(source(1_000))).duplicates).toBe(10);
    expect(whileWriting).toEqual([SECONDARY_INDEXES, SECONDARY_INDEXES]);
    await raw.close();
  });

  it('leaves a stream (a source of unknown size) on the indexed path', async () => {
    const path = freshPath();
    const raw = SqliteRawStore.open(path);
    const seen: string[][] = [];
    const at = new Date(Date.UTC(2026, 0, 5, 10)).toISOString();
    const ingest = createIngest({
      raw,
      processor: createLineProcessor({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }, { threads: false }),
      deriveDirtyUsers: async () => ({ users: 0, sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 }),
      lateAfterMs: DEFAULT_PIPELINE.lateAfterMs,
      deriveEveryEvents: Number.POSITIVE_INFINITY,
      deriveIntervalMs: Number.POSITIVE_INFINITY,
      commitEveryMs: Number.POSITIVE_INFINITY,
    });
    await ingest({
      description: 'stdin',
      totalBytes: undefined,
      async *batches() {
        yield {
          lines: [JSON.stringify({ type: 'track', event: 'x', messageId: 'm', userId: 'u', timestamp: at, sentAt: at, receivedAt: at, properties: {} })],
          arrivedAt: Date.UTC(2026, 0, 5, 12),
          ack: async () => {},
        };
        seen.push(bulkLoadState(path).indexes);
      },
      async close() {},
    });
    expect(seen).toEqual([SECONDARY_INDEXES]);
    await raw.close();
  });
});
