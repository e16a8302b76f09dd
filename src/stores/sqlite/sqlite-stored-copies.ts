import Database from 'better-sqlite3';
import type { StoredCopiesLookUp, StoredCopiesReader, StoredCopy } from '../ports/event-log.js';
import { messageKey } from './message-key.js';
import { placeholders } from './sqlite-context.js';

/** Message keys per IN query at most: a 5,000-line batch in one query (SQLite allows 32,766 parameters). */
const KEY_CHUNK = 8_192;
/** The smallest IN list: shorter ones are padded to a power of two, so a handful of statements serve every batch. */
const MIN_KEYS = 256;

/**
 * The re-ingest pre-filter's look-up on `db` (docs/decisions/0026): per line, the stored accepted
 * event with the line's rawHash, found by its message id's key; null for a line without one. One
 * IN query per batch instead of one per line (per-statement overhead, not SQLite's index walk, was
 * most of a lookup's cost). The IN list is padded with repeats of its first key (SQLite dedups
 * it) to a cached statement's size: preparing a 5,000-parameter statement per batch cost ~0.35 s
 * per million. The rows are read in rowid order, the order a first run stored them, not in key order.
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
  return (hashes, messageIds) => {
    const keys: number[] = [];
    for (const messageId of messageIds) if (messageId !== null) keys.push(messageKey(messageId));
    // By raw hash alone: a stored row with the line's rawHash holds this very line, so its
    // message id is the line's, whatever key found it (the guessed id only narrows the search).
    const byHash = new Map<string, StoredCopy>();
    for (let start = 0; start < keys.length; start += KEY_CHUNK) {
      const chunk = keys.slice(start, start + KEY_CHUNK);
      let size = MIN_KEYS;
      while (size < chunk.length) size *= 2;
      for (let index = chunk.length; index < size; index += 1) chunk.push(chunk[0]!);
      for (const row of statementFor(size).all(...chunk) as Array<[string, number, number]>) byHash.set(row[0], { receivedAt: row[1], eventTime: row[2] });
    }
    return hashes.map((rawHash, index) => (messageIds[index] === null ? null : (byHash.get(rawHash) ?? null)));
  };
}

/**
 * The look-up on its own read-only connection to the store at `path`, for the line worker thread.
 * WAL: it never blocks the writer and sees what was committed when each query starts, so it may
 * miss rows of a write group still open; a miss only sends the line down the normal path.
 */
export function openSqliteStoredCopies(path: string): StoredCopiesReader {
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 15_000 });
  // A small page cache: the look-up reads table pages at random, so a larger one mostly held pages
  // read once. 64 MiB instead saved ~0.25 CPU-s per million re-ingested, and cost a first run
  // (which probes) 60-80 MiB of peak RSS against the 1 GiB target (docs/decisions/0026).
  db.pragma('cache_size = -8192');
  return {
    lookUp: createStoredCopiesLookUp(db),
    close: () => {
      if (db.open) db.close();
    },
  };
}
