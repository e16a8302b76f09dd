// The worker thread of createWalCheckpoints: copies the raw store's committed WAL frames into the
// database file (a PASSIVE checkpoint) on its own connection whenever the writer says it committed,
// so the writer's thread never stops for it; and builds what is left of a bulk load's indexes
// while the derive runs (docs/decisions/0028, "WAL checkpoints off the writer's thread", "Indexes a derive does not read").
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { endBulkLoadIndexByIndex } from './sqlite-schema.js';

const port = parentPort;
if (port === null) throw new Error('wal-checkpoint-worker runs as a worker thread');
const { path } = workerData as { path: string };

// Read-write (a checkpoint writes the database file); a small page cache: a checkpoint copies frames, it reads no b-tree.
const db = new Database(path, { fileMustExist: true, timeout: 15_000 });
db.pragma('cache_size = -2048');
// This connection must never checkpoint on its own schedule either: it only runs the ones asked for.
db.pragma('wal_autocheckpoint = 0');

port.on('message', (message: 'checkpoint' | 'end-bulk-load' | 'close') => {
  if (message === 'end-bulk-load') {
    try {
      endBulkLoadIndexByIndex(db);
      port.postMessage('bulk-load-ended');
    } catch (error) {
      port.postMessage(`bulk-load-failed: ${(error as Error).message}`);
    }
    return;
  }
  if (message === 'close') {
    db.close();
    port.postMessage('closed');
    port.close();
    return;
  }
  // PASSIVE: as many committed frames as no reader still needs, without waiting for the writer or readers.
  db.pragma('wal_checkpoint(PASSIVE)');
});
