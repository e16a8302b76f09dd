import { isHolderAlive } from '../lease.js';
import type { LeaseHolder, MetaAndLeases } from '../ports/meta-and-leases.js';
import { isDuplicateKey } from './mongo-connection.js';
import { allocate, CAS_ROUNDS, guard, type MongoContext } from './mongo-context.js';

function holderKey(holder: LeaseHolder): string {
  return JSON.stringify({ pid: holder.pid, hostname: holder.hostname, command: holder.command, startedAt: holder.startedAt });
}

export function createMongoMetaAndLeases(ctx: MongoContext): MetaAndLeases {
  const { c } = ctx;
  return {
    async readMeta(key) {
      return guard(ctx, 'read meta', async () => ((await c.meta.findOne({ _id: key }))?.value as string | undefined) ?? null);
    },
    async writeMeta(key, value) {
      await guard(ctx, 'write meta', async () => {
        if (value === null) await c.meta.deleteOne({ _id: key });
        else await c.meta.updateOne({ _id: key }, { $set: { value } }, { upsert: true });
      });
    },
    async nextVersion() {
      return guard(ctx, 'allocate a version', () => allocate(ctx, 'version', 1));
    },
    async acquireLease(name, holder, ttlMs) {
      return guard(ctx, 'take a lease', async () => {
        const key = holderKey(holder);
        for (let round = 0; round < CAS_ROUNDS; round += 1) {
          const now = Date.now();
          const current = await c.leases.findOne({ _id: name });
          if (!current) {
            try {
              await c.leases.insertOne({ _id: name, holder: key, expiresAt: now + ttlMs });
              return { acquired: true };
            } catch (error) {
              if (isDuplicateKey(error)) continue;
              throw error;
            }
          }
          const other = JSON.parse(current.holder as string) as LeaseHolder;
          const mine = other.pid === holder.pid && other.hostname === holder.hostname && other.startedAt === holder.startedAt;
          if (!mine && (current.expiresAt as number) > now && isHolderAlive(other)) return { acquired: false, holder: other, expiresAt: current.expiresAt as number };
          // Renew ours, or take over from an expired or dead holder: only if the lease is still what we read.
          const swapped = await c.leases.updateOne({ _id: name, holder: current.holder, expiresAt: current.expiresAt }, { $set: { holder: key, expiresAt: now + ttlMs } });
          if (swapped.matchedCount === 1) return { acquired: true };
        }
        throw new Error(`lease ${name} kept changing hands`);
      });
    },
    async releaseLease(name, holder) {
      await guard(ctx, 'release a lease', async () => {
        await c.leases.deleteOne({ _id: name, holder: holderKey(holder) });
      });
    },
  };
}
