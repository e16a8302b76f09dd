import Database from 'better-sqlite3';
import type { StoredCopiesLookUp, StoredCopiesReader, StoredCopy } from '../ports/event-log.js';
import { messageKey } from './message-key.js';
import { placeholders } from './sqlite-context.js';

/** Message keys per IN query at most: a 5,000-line batch in one query (SQLite allows 32,766 parameters). */
const KEY_CHUNK = 8_192;
/** IN lists are padded to a multiple of this, so at most KEY_CHUNK / KEY_STEP statements serve every batch. */
const KEY_STEP = 512;

/**
 * The re-ingest pre-filter's look-up on `db` (docs/decisions/0026): per line, the stored accepted
 * event with the line's rawHash, found by its message id's key; null for a line without one. One
 * IN query per batch instead of one per line (per-statement overhead, not SQLite's index walk, was
 * most of a lookup's cost). The IN list is padded with repeats of its first key (SQLite dedups
 * it) to a cached statement's size: preparing a 5,000-parameter statement per batch cost ~0.35 s
 * per million; padding to a power of two bound ~0.1 s more than to a multiple of KEY_STEP. The
 * rows are read in rowid order, the order a first run stored them, not in key order.
 */
export function createStoredCopiesLookUp(db: Database.Database): StoredCopiesLookUp {
  const statements = new Map<number, Database.Statement>();
  const statementFor = (size: number): Database.Statement => {
    let statement = statements.get(size);
    if (statement === undefined) {
      const keys = placeholders(Array.from({ length: size }));
      statement = db.prepare(`SELECT raw_hash, received_at, event_time FROM raw_events WHERE rowid IN (SELECT rowid FROM raw_events WHERE message_key IN (${keys}))`).raw(true);
      statements.set(size, statement);
    }
    return statement;
  };
  const keyIndex = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'raw_events_message_key'`);
  return (hashes, messageIds) => {
    // Without the message-key index (a bulk load runs, ADR 0028) each look-up would scan the table:
    // answer nothing, and every line takes the normal path, whose write dedups in memory.
    if (keyIndex.get() === undefined) return hashes.map(() => null);
    const keys: number[] = [];
    for (const messageId of messageIds) if (messageId !== null) keys.push(messageKey(messageId));
    // By raw hash alone: a stored row with the line's rawHash holds this very line, so its
    // message id is the line's, whatever key found it (the guessed id only narrows the search).
    const byHash = new Map<string, StoredCopy>();
    for (let start = 0; start < keys.length; start += KEY_CHUNK) {
      const chunk = keys.slice(start, start + KEY_CHUNK);
      const size = Math.ceil(chunk.length / KEY_STEP) * KEY_STEP;
      for (let index = chunk.length; index < size; index += 1) chunk.push(chunk[0]!);
      for (const row of statementFor(size).all(...chunk) as Array<[string, number, number]>) byHash.set(row[0], { receivedAt: row[1], eventTime: row[2] });
    }
    return hashes.map((rawHash, index) => (messageIds[index] === null ? null : (byHash.get(rawHash) ?? null)));
  };
}

const MIN_CACHE_KIB = 2_048;
const MAX_CACHE_KIB = 32_768;

/**
 * The look-up on its own read-only connection to the store at `path`, for the line worker thread.
 * WAL: it never blocks the writer and sees what was committed when each query starts, so it may
 * miss rows of a write group still open; a miss only sends the line down the normal path.
 */
export function openSqliteStoredCopies(path: string): StoredCopiesReader {
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 15_000 });
  // A page cache for the message-key index (~24 bytes per row), up to 32 MiB: with the index cached,
  // a look-up of the stored 1M cost 2.4 CPU-s against 2.7 with 8 MiB. The table pages it reads are
  // random and read once. Sized when opened: a first run opens it on a nearly empty store (its first
  // probe), so its peak RSS does not grow (64 MiB for every store cost a first run 60-80 MiB; ADR 0026).
  const rows = (db.prepare('SELECT coalesce(max(rowid), 0) AS last FROM raw_events').get() as { last: number }).last;
  db.pragma(`cache_size = -${Math.min(MAX_CACHE_KIB, Math.max(MIN_CACHE_KIB, Math.ceil((rows * 24) / 1024)))}`);
  return {
    lookUp: createStoredCopiesLookUp(db),
    close: () => {
      if (db.open) db.close();
    },
  };
}
