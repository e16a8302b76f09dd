import type { IdentityLink } from '../../domain/precedence.js';
import type { EventLog } from '../ports/event-log.js';
import type { RawStore } from '../raw-store.js';
import { createSqliteContext } from './sqlite-context.js';
import { createSqliteCorrectionLog } from './sqlite-correction-log.js';
import { createSqliteDirtyQueue } from './sqlite-dirty-queue.js';
import { createSqliteEventLog } from './sqlite-event-log.js';
import { createSqliteIdentityGraph } from './sqlite-identity-graph.js';
import { createSqliteMetaAndLeases } from './sqlite-meta-leases.js';
import { createSqliteProfiles } from './sqlite-profiles.js';
import { openRawDatabase } from './sqlite-schema.js';
import { createSqliteStats } from './sqlite-stats.js';
import { createSqliteTailReader } from './sqlite-tail-reader.js';
import { createWalCheckpoints } from './wal-checkpoints.js';

export { tuneConnection } from './sqlite-schema.js';

/**
 * The embedded raw store. SQLite in WAL mode gives what two journeyctl processes on one data
 * directory need: readers never block the writer, writers queue on a lock with a timeout, and
 * a crash mid-batch leaves the previous state (every batch is one transaction).
 *
 * Assembled from one part per port (sqlite-<concern>.ts), all on one connection.
 */
export type SqliteRawStore = RawStore &
  Required<Pick<EventLog, 'beginWriteGroup' | 'commitWriteGroup' | 'abandonWriteGroup' | 'beginBulkLoad' | 'endBulkLoad' | 'storedCopies' | 'storedCopiesReader'>> & {
    readonly engine: 'sqlite';
    /**
     * SQLite's check of every page (`journeyctl doctor`): quick_check (pages and b-trees, linear in the
     * file) or, thorough, integrity_check (indexes against their tables too). At most 20 problems; [] when ok.
     */
    checkPages(thorough: boolean): string[];
    /** Links and dirty marks of events stored elsewhere (raw events in ClickHouse), as one transaction. */
    recordArrivals(links: ReadonlyMap<string, IdentityLink>, dirty: ReadonlySet<string>): Promise<void>;
  };

export const SqliteRawStore = {
  open(path: string): SqliteRawStore {
    const db = openRawDatabase(path);
    const ctx = createSqliteContext(db);
    const dirty = createSqliteDirtyQueue(ctx);
    const identity = createSqliteIdentityGraph(ctx);
    const checkpoints = createWalCheckpoints(db);
    return {
      engine: 'sqlite',
      ...createSqliteEventLog(ctx, { dirty, identity, checkpoints }),
      ...identity.graph,
      ...dirty.queue,
      ...createSqliteCorrectionLog(ctx),
      ...createSqliteMetaAndLeases(ctx),
      ...createSqliteStats(ctx),
      ...createSqliteTailReader(ctx),
      ...createSqliteProfiles(ctx),
      async recordArrivals(links, dirtyIds) {
        ctx.guard('record identity links and dirty ids', () =>
          db
            .transaction(() => {
              identity.saveLinksInTransaction(links);
              if (dirtyIds.size > 0) dirty.markInTransaction(dirtyIds);
            })
            .immediate(),
        );
      },
      checkPages(thorough: boolean): string[] {
        try {
          const rows = db.prepare(`PRAGMA ${thorough ? 'integrity_check' : 'quick_check'}(20)`).all() as Array<Record<string, string>>;
          return rows.map((row) => Object.values(row)[0]!).filter((message) => message !== 'ok');
        } catch (error) {
          return [(error as Error).message];
        }
      },
      async close() {
        await checkpoints.close();
        if (db.open) db.close();
      },
    };
  },
};
