import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { describeRawStoreCorrectionsConformance } from '../raw-store-corrections.conformance.js';
import { accepted, describeRawStoreConformance } from '../raw-store.conformance.js';
import { messageKey } from './message-key.js';
import { SqliteRawStore } from './sqlite-raw-store.js';

const openFresh = async () => SqliteRawStore.open(join(mkdtempSync(join(tmpdir(), 'jc-raw-')), 'raw.sqlite'));

describeRawStoreConformance('embedded SQLite', openFresh);
describeRawStoreCorrectionsConformance('embedded SQLite', openFresh);

it('keeps the audit trail append-only even against direct SQL', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'jc-raw-')), 'raw.sqlite');
  const store = SqliteRawStore.open(path);
  await store.appendCorrection({ change: { kind: 'rename_event', from: 'a', to: 'b' }, actor: 'ana', reason: 'typo', ticket: null, createdAt: 1 });
  await store.close();
  const db = new Database(path);
  expect(() => db.prepare('DELETE FROM corrections').run()).toThrow(/append-only/);
  expect(() => db.prepare("UPDATE corrections SET doc = '{}'").run()).toThrow(/append-only/);
  db.close();
});

it('tells apart two message ids that share a lookup key', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'jc-raw-')), 'raw.sqlite');
  await SqliteRawStore.open(path).close();
  // No two real ids with one 53-bit key are known, so the clash is planted: another id stored under m1's key.
  const db = new Database(path);
  db.prepare(
    `INSERT INTO raw_events (message_id, message_key, identity_key, type, event, event_time, time_source, skew_ms, received_at, properties, traits, raw, raw_hash, ingested_at)
              VALUES ('other', ?, 'anon-9', 'track', 'x', 1, 'client', 0, 1, '{}', '{}', '{}', 'h0', 1)`,
  ).run(messageKey('m1'));
  db.close();
  const store = SqliteRawStore.open(path);
  expect(await store.writeBatch([accepted({ messageId: 'm1', identityKey: 'anon-1' })], [])).toMatchObject({ inserted: 1, duplicates: 0 });
  expect(await store.writeBatch([accepted({ messageId: 'm1', identityKey: 'anon-1', rawHash: 'other-bytes' })], [])).toMatchObject({ inserted: 0, duplicates: 1 });
  expect(Object.fromEntries(await store.identityKeysOfMessages(['m1', 'other']))).toEqual({ m1: 'anon-1', other: 'anon-9' });
  expect((await store.counts()).events).toBe(2);
  await store.close();
});

it('upgrades a store written before message keys: its events are still found as duplicates', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'jc-raw-')), 'raw.sqlite');
  // The raw_events table as journeyctl created it before message keys (a unique message id text).
  const db = new Database(path);
  db.exec(`CREATE TABLE raw_events (message_id TEXT NOT NULL UNIQUE, identity_key TEXT NOT NULL, user_id TEXT, anonymous_id TEXT, previous_id TEXT,
             type TEXT NOT NULL, event TEXT NOT NULL, event_time INTEGER NOT NULL, time_source TEXT NOT NULL, skew_ms INTEGER NOT NULL,
             received_at INTEGER NOT NULL, app_version TEXT, properties TEXT NOT NULL, traits TEXT NOT NULL, raw TEXT NOT NULL, raw_hash TEXT NOT NULL, ingested_at INTEGER NOT NULL)`);
  // More rows than one fill step (20k), so the key column is filled in several commits.
  const insert = db.prepare(`INSERT INTO raw_events VALUES (?, 'anon-1', NULL, 'anon-1', NULL, 'track', 'x', 1000, 'client', 0, 1500, NULL, '{}', '{}', '{}', 'hash', 1)`);
  db.transaction(() => {
    for (let i = 1; i <= 45_000; i += 1) insert.run(`old-${i}`);
  })();
  db.close();
  const store = SqliteRawStore.open(path);
  const batch = [accepted({ messageId: 'old-1' }), accepted({ messageId: 'old-45000' }), accepted({ messageId: 'new-1' })];
  expect(await store.writeBatch(batch, [])).toMatchObject({ inserted: 1, duplicates: 2 });
  expect(Object.fromEntries(await store.identityKeysOfMessages(['old-1', 'old-45000', 'new-1']))).toEqual({ 'old-1': 'anon-1', 'old-45000': 'anon-1', 'new-1': 'anon-1' });
  await store.close();
  const check = new Database(path);
  expect(check.prepare('SELECT count(*) AS n FROM raw_events WHERE message_key < 0').get()).toEqual({ n: 0 });
  expect(check.prepare(`SELECT count(*) AS n FROM meta WHERE key LIKE 'raw_events.message_key%'`).get()).toEqual({ n: 0 });
  check.close();
  // Opening again finds the column there and changes nothing.
  const again = SqliteRawStore.open(path);
  expect((await again.counts()).events).toBe(45_001);
  await again.close();
});

it('upgrades a store written before received_minutes: burst counts are built from the stored lines, then kept', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'jc-raw-')), 'raw.sqlite');
  const minute = 60_000;
  const store = SqliteRawStore.open(path);
  await store.writeBatch(
    [accepted({ messageId: 'a', receivedAt: 3 * minute, appVersion: '1.0' }), accepted({ messageId: 'b', receivedAt: 14 * minute, appVersion: '1.0', rawHash: 'b' })],
    [{ raw: 'x', rawHash: 'x', reason: 'invalid_json', detail: 'd', receivedAt: 4 * minute, messageId: null, event: null, appVersion: '1.0' }],
  );
  await store.close();
  const db = new Database(path);
  db.exec('DROP TABLE received_minutes');
  db.close();
  const upgraded = SqliteRawStore.open(path);
  const expected = [
    { bucketStart: 0, appVersion: '1.0', accepted: 1, rejected: { invalid_json: 1 } },
    { bucketStart: 10 * minute, appVersion: '1.0', accepted: 1, rejected: {} },
  ];
  expect((await upgraded.receivedLineCounts(10 * minute)).sort((x, y) => x.bucketStart - y.bucketStart)).toEqual(expected);
  await upgraded.writeBatch([accepted({ messageId: 'b', receivedAt: 2 * minute, appVersion: '1.0', rawHash: 'b-earlier' })], []);
  expect((await upgraded.receivedLineCounts(10 * minute)).sort((x, y) => x.bucketStart - y.bucketStart)).toEqual([{ bucketStart: 0, appVersion: '1.0', accepted: 2, rejected: { invalid_json: 1 } }]);
  await upgraded.close();
});
