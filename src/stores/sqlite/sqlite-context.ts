import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { InfrastructureError } from '../../errors.js';
import { diskFullError, isDiskFull } from '../disk-full.js';
import { corruptSqliteHint, isSqliteCorrupt } from './corruption.js';

/** What every part of the embedded raw store shares: one connection and its error mapping. */
export interface SqliteContext {
  db: Database.Database;
  /** Runs a synchronous action; a locked or failing database becomes a typed (retriable when busy) infrastructure error. */
  guard<T>(what: string, action: () => T): T;
  /** Increments a named counter (in the caller's transaction) and returns its new value. */
  bump(name: string): number;
}

export function createSqliteContext(db: Database.Database): SqliteContext {
  const bumpCounter = db.prepare(`INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`);
  return {
    db,
    guard(what, action) {
      try {
        return action();
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        const busy = code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
        if (!busy && isDiskFull(error, dirname(db.name))) throw diskFullError(dirname(db.name), `raw store: cannot ${what}`, error);
        throw new InfrastructureError(`raw store: cannot ${what}: ${(error as Error).message}`, {
          hint: busy ? 'another journeyctl process is writing the same data directory; try again when it finishes' : isSqliteCorrupt(error) ? corruptSqliteHint(db.name) : undefined,
          cause: error,
          retriable: busy,
        });
      }
    },
    bump: (name) => (bumpCounter.get(name) as { value: number }).value,
  };
}

/** SQLite's limit on bound parameters per statement is 32766; stay well below it. */
export const IN_CHUNK = 900;

export function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let start = 0; start < items.length; start += IN_CHUNK) yield items.slice(start, start + IN_CHUNK);
}

export function placeholders(items: readonly unknown[]): string {
  return items.map(() => '?').join(',');
}

/**
 * Distinct lines of a raw_events row's message id: rows in raw_copies exist only once a second
 * distinct line arrived (then one per line), so 0 means 1. One primary-key probe per event read.
 */
export const COPY_ROWS = '(SELECT count(*) FROM raw_copies c WHERE c.message_id = raw_events.message_id)';
