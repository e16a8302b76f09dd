import type { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { compiledWorkerBeside, startCompiledWorker } from '../../runtime/compiled-worker.js';
import { endBulkLoad as endBulkLoadOnThisConnection } from './sqlite-schema.js';

/**
 * WAL checkpoints of the raw store on a thread of their own, for a process that writes in bulk.
 * SQLite checkpoints on the committing connection (wal_autocheckpoint). In a bulk load of the 1M
 * file, each 8-second write group's commit copied ~0.5 GB of frames into the database file: 1.1
 * and 0.7 s in which the ingest's writing thread did nothing else (figures: docs/decisions/0028).
 * Once started, the writer's connection checkpoints only past WRITER_CHECKPOINT_BYTES and tells a
 * worker thread after each commit; if that thread cannot run, the writer checkpoints as before.
 */
export interface WalCheckpoints {
  /** Starts the thread (once; a no-op where it cannot run). Called before a write group or a bulk load. */
  start(): void;
  /** A write transaction committed: its frames can be copied. */
  committed(): void;
  /**
   * Hands the end of a bulk load to the thread (endBulkLoadIndexByIndex: the indexes still
   * missing, then the note); false where no thread runs. If the thread cannot, this connection
   * ends it as soon as that is known; close() waits for either.
   */
  endBulkLoad(): boolean;
  /** Stops the thread after the checkpoints asked for; the writer's own close checkpoints what is left. */
  close(): Promise<void>;
}

/**
 * The writer still checkpoints once the WAL holds this much: a bulk load commits its next write
 * group before the thread has copied the last one, so SQLite never finds the WAL copied whole at
 * a transaction's start, never rewinds it, and it would grow with the load (0.96 GB for the 1M
 * file). At the bound the writer copies what the thread has not (its last group) and the WAL
 * starts again: a load's extra disk stays under ~1 GiB.
 */
const WRITER_CHECKPOINT_BYTES = 1 << 30;

export function createWalCheckpoints(db: Database.Database, options: { module?: URL | null } = {}): WalCheckpoints {
  // Without the compiled worker (tests from sources) the writer keeps SQLite's own checkpoints.
  const module = options.module === undefined ? compiledWorkerBeside('./wal-checkpoint-worker.js', import.meta.url) : options.module;
  const ownCheckpointPages = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  let worker: Worker | null = null;
  let closed: Promise<void> | null = null;
  let bulkLoadEnding: Promise<void> | null = null;
  // The writer checkpoints again (as SQLite does by default) whenever the thread is not there to.
  const writerCheckpointsAgain = () => {
    if (db.open) db.pragma(`wal_autocheckpoint = ${ownCheckpointPages}`);
  };
  const fallBack = () => {
    worker = null;
    writerCheckpointsAgain();
  };
  return {
    start() {
      if (worker !== null || closed !== null || module === null || db.memory || !db.open) return;
      const started = startCompiledWorker(module, { path: db.name });
      // Never what keeps the process alive: the store's close stops it, and an exit without one loses nothing.
      started.unref();
      started.on('error', fallBack);
      started.on('exit', () => {
        if (worker === started) fallBack();
      });
      worker = started;
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      db.pragma(`wal_autocheckpoint = ${Math.ceil(WRITER_CHECKPOINT_BYTES / pageSize)}`);
    },
    committed() {
      worker?.postMessage('checkpoint');
    },
    endBulkLoad() {
      const thread = worker;
      if (thread === null) return false;
      bulkLoadEnding = new Promise<void>((resolve, reject) => {
        const settle = (error: Error | null) => {
          thread.off('message', onMessage);
          thread.off('exit', onExit);
          if (error) reject(error);
          else resolve();
        };
        const onMessage = (message: string) => {
          if (message === 'bulk-load-ended') settle(null);
          else if (message.startsWith('bulk-load-failed: ')) settle(new Error(message.slice('bulk-load-failed: '.length)));
        };
        const onExit = () => settle(new Error('the checkpoint thread ended first'));
        thread.on('message', onMessage);
        thread.once('exit', onExit);
        thread.postMessage('end-bulk-load');
      }).catch(() => {
        // Best effort, as a failed ingest's: a note left behind is ended by the next open (ensureSecondaryIndexes).
        try {
          if (db.open) endBulkLoadOnThisConnection(db);
        } catch {
          // left to the next open
        }
      });
      return true;
    },
    close() {
      closed ??= (async () => {
        await bulkLoadEnding;
        const stopping = worker;
        if (stopping === null) return;
        worker = null;
        await new Promise<void>((resolve) => {
          stopping.on('message', (message: string) => {
            if (message === 'closed') resolve();
          });
          stopping.once('exit', () => resolve());
          stopping.postMessage('close');
        });
        await stopping.terminate();
        writerCheckpointsAgain();
      })();
      return closed;
    },
  };
}
