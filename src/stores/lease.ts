import { hostname } from 'node:os';
import { InfrastructureError } from '../errors.js';
import type { LeaseHolder, MetaAndLeases } from './ports/meta-and-leases.js';

export interface HeldLease {
  holder: LeaseHolder;
  release(): Promise<void>;
}

export interface LeaseOptions {
  /** How long to wait for another holder before giving up; 0 fails at once. */
  waitMs: number;
  ttlMs?: number;
  log: (message: string) => void;
}

/** This process as a lease holder: enough for another process (or a person) to know who holds what. */
export function currentHolder(command: string): LeaseHolder {
  return { pid: process.pid, hostname: hostname(), command, startedAt: processStartedAt };
}
const processStartedAt = Date.now();
const hostnameOfThisMachine = hostname();

/** A holder (of a lease, of a write intent) on this host whose process is gone has let go, whatever its expiry says. */
export function isHolderAlive(holder: { pid: number; hostname: string }): boolean {
  if (holder.hostname !== hostnameOfThisMachine) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function describeHolder(holder: LeaseHolder): string {
  return `\`${holder.command}\` (pid ${holder.pid} on ${holder.hostname}, since ${new Date(holder.startedAt).toISOString()})`;
}

/**
 * Takes a named lease in the raw store, waiting while another live process holds it. The lease
 * is renewed in the background; a holder that dies stops renewing and its lease expires (or is
 * freed at once when it ran on this host and its pid is gone).
 */
export async function acquireLease(store: MetaAndLeases, name: string, holder: LeaseHolder, options: LeaseOptions): Promise<HeldLease> {
  const ttlMs = options.ttlMs ?? 30_000;
  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (;;) {
    const attempt = await store.acquireLease(name, holder, ttlMs);
    if (attempt.acquired) break;
    if (Date.now() >= deadline) {
      throw new InfrastructureError(`${name} is in use by ${describeHolder(attempt.holder)}`, {
        hint: `wait for it to finish, or pass --wait <duration> to queue behind it (the lease expires ${new Date(attempt.expiresAt).toISOString()} if its holder died)`,
        retriable: true,
      });
    }
    if (!announced) {
      options.log(`waiting for ${name}: held by ${describeHolder(attempt.holder)}`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const renew = setInterval(() => {
    store.acquireLease(name, holder, ttlMs).catch(() => {});
  }, ttlMs / 3);
  renew.unref();
  return {
    holder,
    async release() {
      clearInterval(renew);
      // A lease that cannot be deleted (a full disk) is still let go: it names this process, and is
      // free once this process is gone or the lease expires. Failing here would fail a command
      // whose work is done.
      await store.releaseLease(name, holder).catch(() => {});
    },
  };
}
