import type { Correction, EventFilter } from '../../domain/correction.js';
import type { CorrectionLog } from '../ports/correction-log.js';
import { chunks, placeholders, type SqliteContext } from './sqlite-context.js';
import { messageKey } from './message-key.js';

export function createSqliteCorrectionLog({ db, guard }: SqliteContext): CorrectionLog {
  return {
    async appendCorrection(correction: Omit<Correction, 'id'>): Promise<Correction> {
      return guard('append a correction', () =>
        db
          .transaction(() => {
            // The immediate transaction holds the write lock, so the next sequence number is ours alone.
            const seq = (db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM corrections').get() as { seq: number }).seq;
            const stored: Correction = { id: `c${seq}`, ...correction };
            db.prepare('INSERT INTO corrections (seq, doc) VALUES (?, ?)').run(seq, JSON.stringify(stored));
            return stored;
          })
          .immediate(),
      );
    },

    async listCorrections(): Promise<Correction[]> {
      return (db.prepare('SELECT doc FROM corrections ORDER BY seq').all() as Array<{ doc: string }>).map((row) => JSON.parse(row.doc) as Correction);
    },

    async identityKeysForEvents(filter: EventFilter): Promise<string[]> {
      const conditions: string[] = [];
      const params: unknown[] = [];
      if (filter.event !== undefined) {
        conditions.push('event = ?');
        params.push(filter.event);
      }
      if (filter.appVersion !== undefined) {
        conditions.push('app_version = ?');
        params.push(filter.appVersion);
      }
      if (filter.since !== undefined) {
        conditions.push('event_time >= ?');
        params.push(filter.since);
      }
      if (filter.until !== undefined) {
        conditions.push('event_time < ?');
        params.push(filter.until);
      }
      if (filter.userId !== undefined) {
        conditions.push('identity_key IN (SELECT id FROM identity_map WHERE canonical_id = ? UNION SELECT ?)');
        params.push(filter.userId, filter.userId);
      }
      const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
      return (db.prepare(`SELECT DISTINCT identity_key FROM raw_events ${where} ORDER BY identity_key`).all(...params) as Array<{ identity_key: string }>).map((row) => row.identity_key);
    },

    async identityKeysOfMessages(messageIds: readonly string[]): Promise<Map<string, string>> {
      const keys = new Map<string, string>();
      for (const chunk of chunks(messageIds)) {
        const rows = db
          .prepare(`SELECT message_id, identity_key FROM raw_events WHERE message_key IN (${placeholders(chunk)}) AND message_id IN (${placeholders(chunk)})`)
          .all(...chunk.map(messageKey), ...chunk) as Array<{ message_id: string; identity_key: string }>;
        for (const row of rows) keys.set(row.message_id, row.identity_key);
      }
      return keys;
    },
  };
}
