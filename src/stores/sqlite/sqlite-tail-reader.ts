import type { TailReader } from '../ports/tail-reader.js';
import type { SqliteContext } from './sqlite-context.js';
import { parseTailCursor, tailEnd, tailEvents, tailRejected } from './sqlite-tail.js';

/** The TailReader port over sqlite-tail.ts's reads. */
export function createSqliteTailReader({ db, guard }: SqliteContext): TailReader {
  return {
    async tailEvents(after, filter, limit) {
      const start = parseTailCursor(after);
      return guard('tail events', () => tailEvents(db, start, filter, limit));
    },
    async tailRejected(after, filter, limit) {
      const start = parseTailCursor(after);
      return guard('tail rejected lines', () => tailRejected(db, start, filter, limit));
    },
    async tailEnd(kind) {
      return guard('find the end of the store', () => tailEnd(db, kind));
    },
  };
}
