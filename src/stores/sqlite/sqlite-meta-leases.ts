import { isHolderAlive } from '../lease.js';
import type { LeaseHolder, LeaseResult, MetaAndLeases } from '../ports/meta-and-leases.js';
import type { SqliteContext } from './sqlite-context.js';

export function createSqliteMetaAndLeases(ctx: SqliteContext): MetaAndLeases {
  const { db, guard } = ctx;
  const readLease = db.prepare('SELECT holder, expires_at FROM leases WHERE name = ?');
  const writeLease = db.prepare('INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at');
  const deleteLease = db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?');
  return {
    async readMeta(key) {
      const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
      return row?.value ?? null;
    },
    async writeMeta(key, value) {
      guard('write meta', () => {
        if (value === null) db.prepare('DELETE FROM meta WHERE key = ?').run(key);
        else db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
      });
    },
    async nextVersion() {
      return guard('allocate a version', () => ctx.bump('version'));
    },
    async acquireLease(name, holder, ttlMs) {
      return guard('take a lease', () =>
        db
          .transaction((): LeaseResult => {
            const now = Date.now();
            const current = readLease.get(name) as { holder: string; expires_at: number } | undefined;
            if (current) {
              const other = JSON.parse(current.holder) as LeaseHolder;
              const mine = other.pid === holder.pid && other.hostname === holder.hostname && other.startedAt === holder.startedAt;
              if (!mine && current.expires_at > now && isHolderAlive(other)) return { acquired: false, holder: other, expiresAt: current.expires_at };
            }
            writeLease.run(name, JSON.stringify(holder), now + ttlMs);
            return { acquired: true };
          })
          .immediate(),
      );
    },
    async releaseLease(name, holder) {
      guard('release a lease', () => deleteLease.run(name, JSON.stringify(holder)));
    },
  };
}
