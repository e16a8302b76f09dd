import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { accepted } from '../raw-store.conformance.js';
import { SqliteRawStore } from './sqlite-raw-store.js';

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'jc-copies-')), 'raw.sqlite');

const copiesOf = async (store: SqliteRawStore, key: string) => ({
  events: (await store.eventsByIdentity([key])).map((event) => [event.messageId, event.copies]),
  lines: (await store.rawLinesByIdentity([key])).map((line) => line.copies),
});

describe('copy counts held by the SQLite raw store (ADR 0028)', () => {
  it('sees copies another connection (another process) adds after this one has read', async () => {
    const path = freshPath();
    const reader = SqliteRawStore.open(path);
    const writer = SqliteRawStore.open(path);
    await writer.writeBatch([accepted({ messageId: 'm1', identityKey: 'k1', rawHash: 'h1', receivedAt: 1_000 })], []);
    expect(await copiesOf(reader, 'k1')).toEqual({ events: [['m1', 1]], lines: [1] });
    // A retry with other bytes: the writer now remembers both lines of m1.
    await writer.writeBatch([accepted({ messageId: 'm1', identityKey: 'k1', rawHash: 'h2', receivedAt: 2_000 })], []);
    expect(await copiesOf(reader, 'k1')).toEqual({ events: [['m1', 2]], lines: [2] });
    await writer.writeBatch([accepted({ messageId: 'm1', identityKey: 'k1', rawHash: 'h3', receivedAt: 3_000 })], []);
    expect(await copiesOf(reader, 'k1')).toEqual({ events: [['m1', 3]], lines: [3] });
    await writer.close();
    await reader.close();
  });

  it('answers the same once raw_copies is too large to hold (probed per event)', async () => {
    const path = freshPath();
    const store = SqliteRawStore.open(path);
    await store.writeBatch([accepted({ messageId: 'm1', identityKey: 'k1', rawHash: 'h1' }), accepted({ messageId: 'm2', identityKey: 'k1', rawHash: 'h1' })], []);
    await store.writeBatch([accepted({ messageId: 'm1', identityKey: 'k1', rawHash: 'h2', receivedAt: 9_000 })], []);
    const held = await copiesOf(store, 'k1');
    expect(held.events.sort()).toEqual([
      ['m1', 2],
      ['m2', 1],
    ]);
    // A duplicate storm's worth of copies of other messages, written as another process would, then one more copy of m2.
    const db = new Database(path);
    const insert = db.prepare('INSERT INTO raw_copies (message_id, raw_hash) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 100_001; i += 1) insert.run(`storm-${i}`, 'h');
    })();
    db.close();
    await store.writeBatch([accepted({ messageId: 'm2', identityKey: 'k1', rawHash: 'h2', receivedAt: 9_000 })], []);
    const probed = await copiesOf(store, 'k1');
    expect(probed.events.sort()).toEqual([
      ['m1', 2],
      ['m2', 2],
    ]);
    expect(probed.lines.sort()).toEqual([2, 2]);
    await store.close();
  });
});
