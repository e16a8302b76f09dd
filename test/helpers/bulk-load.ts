import Database from 'better-sqlite3';
import { BULK_LOAD_META } from '../../src/stores/sqlite/sqlite-schema.js';

/** raw_events' secondary indexes, by name: what a bulk load drops and builds again (ADR 0028). */
export const SECONDARY_INDEXES = ['raw_events_anonymous_user', 'raw_events_event_time', 'raw_events_identity_time', 'raw_events_message_key'];

/** The secondary indexes present (sorted) and the bulk-load note, read on a plain connection of its own (no schema work). */
export function bulkLoadState(path: string): { indexes: string[]; note: string | null } {
  const db = new Database(path, { readonly: true });
  try {
    const indexes = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name IN (${SECONDARY_INDEXES.map(() => '?').join(',')}) ORDER BY name`).all(...SECONDARY_INDEXES) as Array<{
        name: string;
      }>
    ).map((row) => row.name);
    const note = (db.prepare('SELECT value FROM meta WHERE key = ?').get(BULK_LOAD_META) as { value: string } | undefined)?.value ?? null;
    return { indexes, note };
  } finally {
    db.close();
  }
}
