import { statfsSync } from 'node:fs';
import { InfrastructureError } from '../errors.js';

/** With less free space than this, an I/O error of a store is taken for a full disk. */
const NEARLY_FULL_BYTES = 1 << 20;

/**
 * Whether a store's failure is a full disk. SQLite says so (SQLITE_FULL) when a write runs out of
 * room, but not when it cannot create its WAL index (-shm) on opening: that is a plain I/O error,
 * so an I/O error with the directory's file system nearly full counts too.
 */
export function isDiskFull(error: unknown, dir: string): boolean {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || /disk is full|no space left on device|not enough space/i.test(message)) return true;
  return (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) && freeBytes(dir) < NEARLY_FULL_BYTES;
}

function freeBytes(dir: string): number {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** One line naming the directory to free space in; what failed stays in the message for the log. */
export function diskFullError(dir: string, what: string, cause: unknown): InfrastructureError {
  return new InfrastructureError(`disk full: free space in ${dir} (${what}: ${cause instanceof Error ? cause.message : String(cause)})`, {
    hint: "even reads write a little there (the lease on the embedded analytics store, SQLite's WAL index); what failed was not written, so run the command again once there is room",
    cause,
    retriable: true,
  });
}
