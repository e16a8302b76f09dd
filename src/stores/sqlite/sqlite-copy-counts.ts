import type Database from 'better-sqlite3';
import type { SqliteContext } from './sqlite-context.js';

/** counters row bumped in every write transaction that adds raw_copies rows: what a cached copy of them is checked against. */
export const COPIES_GENERATION = 'raw_copies';
/** Past this many raw_copies rows (a duplicate storm) the counts are probed per event read instead of held. */
const MAX_CACHED_COPY_ROWS = 100_000;

/**
 * Distinct stored lines per message id (raw_copies) for the events derive reads back. A probe of
 * raw_copies per event read was a sixth of reading 1M events (ADR 0028); the table is small, so
 * it is held whole and read again only once a write has added copies. Call inside the read
 * transaction of the events it counts for, so the two agree. null: too many rows to hold; probe.
 */
export function createCopyCounts(ctx: SqliteContext): () => ReadonlyMap<string, number> | null {
  const { db } = ctx;
  const generation = db.prepare('SELECT value FROM counters WHERE name = ?').pluck();
  const rows = db.prepare(`SELECT count(*) FROM (SELECT 1 FROM raw_copies LIMIT ${MAX_CACHED_COPY_ROWS + 1})`).pluck();
  const perMessage = db.prepare('SELECT message_id, count(*) FROM raw_copies GROUP BY message_id').raw(true);
  let cached: { generation: number; counts: Map<string, number> | null } | undefined;
  return () => {
    const now = (generation.get(COPIES_GENERATION) as number | undefined) ?? 0;
    if (cached?.generation !== now) {
      const counts = (rows.get() as number) > MAX_CACHED_COPY_ROWS ? null : new Map(perMessage.all() as Array<[string, number]>);
      cached = { generation: now, counts };
    }
    return cached.counts;
  };
}

/** An event's copies (at least 1): from the held counts, or from `probed`, its row's raw_copies probe, when none are held. */
export function copiesOf(counts: ReadonlyMap<string, number> | null, probed: number, messageId: string): number {
  return Math.max(1, counts === null ? probed : (counts.get(messageId) ?? 0));
}

/** Runs `read` in one read transaction (a savepoint inside an open one), so every statement in it sees one snapshot. */
export function inOneSnapshot<T>(db: Database.Database, read: () => T): T {
  return db.transaction(read)();
}
