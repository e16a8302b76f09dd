import type { IdentityLink } from '../../domain/precedence.js';
import { groupAnonymousIdUsers, type IdentityGraph } from '../ports/identity-graph.js';
import { chunks, placeholders, type SqliteContext } from './sqlite-context.js';

export interface SqliteIdentityGraph {
  graph: IdentityGraph;
  /** Stores each link unless the stored one wins (domain/precedence.ts isEarlierLink), inside the caller's transaction. */
  saveLinksInTransaction(links: ReadonlyMap<string, IdentityLink>): void;
}

export function createSqliteIdentityGraph({ db, guard }: SqliteContext): SqliteIdentityGraph {
  // The upsert's WHERE is isEarlierLink of domain/precedence.ts, spelled in SQL so the comparison happens under the write lock.
  const upsertLink = db.prepare(`INSERT INTO identity_links (from_id, to_id, event_time, message_id) VALUES (?, ?, ?, ?)
    ON CONFLICT (from_id) DO UPDATE SET to_id = excluded.to_id, event_time = excluded.event_time, message_id = excluded.message_id
    WHERE excluded.event_time < identity_links.event_time
       OR (excluded.event_time = identity_links.event_time AND excluded.message_id < identity_links.message_id)`);
  const saveCanonical = db.prepare('INSERT INTO identity_map (id, canonical_id) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET canonical_id = excluded.canonical_id');
  const saveLinksInTransaction = (links: ReadonlyMap<string, IdentityLink>) => {
    for (const [from, link] of links) upsertLink.run(from, link.to, link.time, link.messageId);
  };
  const graph: IdentityGraph = {
    async linkTargets(ids) {
      const targets = new Map<string, string>();
      for (const chunk of chunks(ids)) {
        const rows = db.prepare(`SELECT from_id, to_id FROM identity_links WHERE from_id IN (${placeholders(chunk)})`).all(...chunk) as Array<{ from_id: string; to_id: string }>;
        for (const row of rows) targets.set(row.from_id, row.to_id);
      }
      return targets;
    },
    async linkSources(ids) {
      const sources: string[] = [];
      for (const chunk of chunks(ids)) {
        const rows = db.prepare(`SELECT from_id FROM identity_links WHERE to_id IN (${placeholders(chunk)})`).all(...chunk) as Array<{ from_id: string }>;
        for (const row of rows) sources.push(row.from_id);
      }
      return sources;
    },
    async canonicalOf(ids) {
      const canonical = new Map<string, string>();
      for (const chunk of chunks(ids)) {
        const rows = db.prepare(`SELECT id, canonical_id FROM identity_map WHERE id IN (${placeholders(chunk)})`).all(...chunk) as Array<{ id: string; canonical_id: string }>;
        for (const row of rows) canonical.set(row.id, row.canonical_id);
      }
      return canonical;
    },
    async membersOf(userIds) {
      const members = new Map<string, string[]>();
      for (const chunk of chunks(userIds)) {
        const rows = db.prepare(`SELECT id, canonical_id FROM identity_map WHERE canonical_id IN (${placeholders(chunk)})`).all(...chunk) as Array<{ id: string; canonical_id: string }>;
        for (const row of rows) {
          const list = members.get(row.canonical_id);
          if (list) list.push(row.id);
          else members.set(row.canonical_id, [row.id]);
        }
      }
      return members;
    },
    async saveCanonical(assignments) {
      guard('save identity map', () =>
        db
          .transaction(() => {
            for (const { id, canonicalId } of assignments) saveCanonical.run(id, canonicalId);
          })
          .immediate(),
      );
    },
    async anonymousIdUsers({ minUsers, anonymousIds }) {
      const base = 'SELECT anonymous_id AS anonymousId, user_id AS userId, MIN(event_time) AS firstAt FROM raw_events WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL';
      const rows: Array<{ anonymousId: string; userId: string; firstAt: number }> = [];
      if (anonymousIds === undefined) rows.push(...(db.prepare(`${base} GROUP BY anonymous_id, user_id`).all() as typeof rows));
      else for (const chunk of chunks(anonymousIds)) rows.push(...(db.prepare(`${base} AND anonymous_id IN (${placeholders(chunk)}) GROUP BY anonymous_id, user_id`).all(...chunk) as typeof rows));
      return groupAnonymousIdUsers(rows, minUsers);
    },
  };
  return { graph, saveLinksInTransaction };
}
