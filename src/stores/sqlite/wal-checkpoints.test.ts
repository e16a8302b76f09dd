import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { bulkLoadState, SECONDARY_INDEXES } from '../../../test/helpers/bulk-load.js';
import { beginBulkLoad, buildDeriveIndexes, openRawDatabase } from './sqlite-schema.js';
import { createWalCheckpoints } from './wal-checkpoints.js';

// The compiled worker (tests run from sources; `npm test` builds first).
const WORKER = new URL('../../../dist/stores/sqlite/wal-checkpoint-worker.js', import.meta.url);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A WAL database as the raw store opens it, with a table to fill. */
function openStore(): Database.Database {
  const dir = mkdtempSync(join(tmpdir(), 'journeyctl-wal-'));
  dirs.push(dir);
  const db = new Database(join(dir, 'raw.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE lines (line TEXT NOT NULL)');
  return db;
}

/** One committed transaction of ~8 MB: more than SQLite's own checkpoint threshold (1,000 pages of 4 KiB). */
function writeCommitted(db: Database.Database): void {
  const insert = db.prepare('INSERT INTO lines (line) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < 8_000; i += 1) insert.run(`${i}`.padEnd(1_000, 'x'));
  })();
}

const fileBytes = (db: Database.Database) => statSync(db.name).size;
const walBytes = (db: Database.Database) => statSync(`${db.name}-wal`).size;

describe('WAL checkpoints on their own thread', () => {
  it('once started, the writer no longer checkpoints: the worker copies the committed frames into the file', async () => {
    const db = openStore();
    const checkpoints = createWalCheckpoints(db, { module: WORKER });
    checkpoints.start();
    // Only past 1 GiB of WAL (pages of 4 KiB here).
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(262_144);
    const before = fileBytes(db);
    writeCommitted(db);
    // The commit left every frame in the WAL: this connection did not checkpoint.
    expect(fileBytes(db)).toBe(before);
    expect(walBytes(db)).toBeGreaterThan(8_000_000);
    checkpoints.committed();
    // close() returns once the thread has run every checkpoint asked for before it.
    await checkpoints.close();
    expect(fileBytes(db)).toBeGreaterThan(8_000_000);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect((db.prepare('SELECT count(*) AS n FROM lines').get() as { n: number }).n).toBe(8_000);
    db.close();
  });

  it('without the compiled worker nothing starts and the writer checkpoints as SQLite does by default', async () => {
    const db = openStore();
    const checkpoints = createWalCheckpoints(db, { module: null });
    checkpoints.start();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    writeCommitted(db);
    checkpoints.committed();
    await checkpoints.close();
    expect(fileBytes(db)).toBeGreaterThan(8_000_000);
    db.close();
  });

  describe('the end of a bulk load', () => {
    /** A raw store in a bulk load: its secondary indexes dropped and this process noted, then those a derive reads built. */
    function bulkLoading(): Database.Database {
      const dir = mkdtempSync(join(tmpdir(), 'journeyctl-wal-'));
      dirs.push(dir);
      const db = openRawDatabase(join(dir, 'raw.sqlite'));
      expect(beginBulkLoad(db)).toBe(true);
      buildDeriveIndexes(db);
      return db;
    }
    const indexesAndNote = (db: Database.Database) => {
      const { indexes, note } = bulkLoadState(db.name);
      return { indexes, note: note !== null };
    };

    /** Hands a bulk load's end to a checkpoint thread on `module`, closes it, and reads what the store holds then. */
    async function endedThrough(module: URL | null) {
      const db = bulkLoading();
      expect(indexesAndNote(db)).toEqual({ indexes: ['raw_events_anonymous_user', 'raw_events_identity_time'], note: true });
      const checkpoints = createWalCheckpoints(db, { module });
      checkpoints.start();
      const handedOver = checkpoints.endBulkLoad();
      await checkpoints.close();
      const after = indexesAndNote(db);
      db.close();
      return { handedOver, ...after };
    }

    it('the thread builds the indexes a derive does not read and clears the note; close() waits for it', async () => {
      expect(await endedThrough(WORKER)).toEqual({ handedOver: true, indexes: SECONDARY_INDEXES, note: false });
    });

    it('if the thread ends first, the writer ends the bulk load on its own connection', async () => {
      // A thread that runs no checkpoint and exits when asked to end the bulk load.
      const quitting = new URL(
        `data:text/javascript,${encodeURIComponent("import { parentPort } from 'node:worker_threads'; parentPort.on('message', (m) => { if (m === 'end-bulk-load') process.exit(1); });")}`,
      );
      expect(await endedThrough(quitting)).toEqual({ handedOver: true, indexes: SECONDARY_INDEXES, note: false });
    });

    it('without a thread it is not handed over', async () => {
      expect(await endedThrough(null)).toMatchObject({ handedOver: false, note: true });
    });
  });
});
