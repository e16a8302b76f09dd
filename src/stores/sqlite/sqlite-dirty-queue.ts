import type { DirtyId, DirtyQueue } from '../ports/dirty-queue.js';
import type { SqliteContext } from './sqlite-context.js';

export interface SqliteDirtyQueue {
  queue: DirtyQueue;
  /** Marks ids under one new generation, inside the caller's transaction (a batch write). */
  markInTransaction(ids: Iterable<string>): void;
}

export function createSqliteDirtyQueue(ctx: SqliteContext): SqliteDirtyQueue {
  const { db, guard } = ctx;
  const markStatement = db.prepare('INSERT INTO dirty_ids (id, mark) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET mark = excluded.mark');
  const list = db.prepare('SELECT id, mark FROM dirty_ids ORDER BY id LIMIT ?');
  const clear = db.prepare('DELETE FROM dirty_ids WHERE id = ? AND mark = ?');
  const markInTransaction = (ids: Iterable<string>) => {
    const mark = ctx.bump('dirty_mark');
    for (const id of ids) markStatement.run(id, mark);
  };
  const queue: DirtyQueue = {
    async listDirtyIds(limit: number): Promise<DirtyId[]> {
      return guard('list dirty ids', () => list.all(limit) as DirtyId[]);
    },
    async markDirty(ids: readonly string[]): Promise<void> {
      guard('mark ids dirty', () => db.transaction(() => markInTransaction(ids)).immediate());
    },
    async clearDirtyIds(ids: readonly DirtyId[]): Promise<void> {
      guard('clear dirty ids', () =>
        db
          .transaction(() => {
            for (const { id, mark } of ids) clear.run(id, mark);
          })
          .immediate(),
      );
    },
  };
  return { queue, markInTransaction };
}
