import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { describeRawStoreCorrectionsConformance } from '../raw-store-corrections.conformance.js';
import { describeRawStoreConformance } from '../raw-store.conformance.js';
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
