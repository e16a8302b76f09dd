import type { StoredCopiesReader, StoredCopiesReaderSpec } from './ports/event-log.js';
import { openSqliteStoredCopies } from './sqlite/sqlite-stored-copies.js';

/** Opens, on the calling thread, the look-up of stored copies a raw store described (EventLog.storedCopiesReader). */
export function openStoredCopiesReader(spec: StoredCopiesReaderSpec): StoredCopiesReader {
  switch (spec.engine) {
    case 'sqlite':
      return openSqliteStoredCopies(spec.path);
  }
}
