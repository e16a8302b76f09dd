import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { drainPending } from 'chdb';
import { createChdbConnection } from 'chdb/connection';
import { join, resolve } from 'node:path';
import { InfrastructureError } from '../../errors.js';
import { acquireLease, currentHolder, type HeldLease, type LeaseOptions } from '../lease.js';
import type { MetaAndLeases } from '../ports/meta-and-leases.js';

/** The lease naming the one process that opens a data directory's chdb engine. */
export const EMBEDDED_LEASE = 'the embedded analytics store';

export interface EmbeddedClickHouse {
  /** chdb in this process ('owner'), or HTTP to the process that owns the directory ('connected'). */
  readonly client: ClickHouseClient;
  readonly mode: 'owner' | 'connected';
  /** The chdb directory. */
  readonly path: string;
  /** Lets go of this acquire; the last one closes the engine and releases the lease. */
  release(): Promise<void>;
}

export interface AcquireEmbeddedOptions extends LeaseOptions {
  /** The command opening it, shown to any process that has to wait. */
  command: string;
  /** The chdb directory; `<dataDir>/analytics` unless a test puts it elsewhere. */
  path?: string;
}

interface Shared {
  client: ClickHouseClient;
  mode: 'owner' | 'connected';
  refs: number;
  close(): Promise<void>;
}

/**
 * One engine per data directory per process: chdb binds one directory per process and locks it,
 * so every part of journeyctl that reads or writes it (the analytics store, the raw store on chdb)
 * shares one client, counted by acquires. The first acquire takes the lease and opens chdb.
 */
const shared = new Map<string, Promise<Shared>>();

export async function acquireEmbeddedClickHouse(dataDir: string, leases: MetaAndLeases, options: AcquireEmbeddedOptions): Promise<EmbeddedClickHouse> {
  const path = resolve(options.path ?? join(dataDir, 'analytics'));
  let pending = shared.get(path);
  if (!pending) {
    pending = openShared(path, leases, options);
    shared.set(path, pending);
    pending.catch(() => shared.delete(path));
  }
  const entry = await pending;
  entry.refs += 1;
  let released = false;
  return {
    client: entry.client,
    mode: entry.mode,
    path,
    async release() {
      if (released) return;
      released = true;
      entry.refs -= 1;
      if (entry.refs > 0) return;
      shared.delete(path);
      await entry.close();
    },
  };
}

async function openShared(path: string, leases: MetaAndLeases, options: AcquireEmbeddedOptions): Promise<Shared> {
  const lease: HeldLease = await acquireLease(leases, EMBEDDED_LEASE, currentHolder(options.command), options);
  let client: ClickHouseClient;
  try {
    client = openChdbClient(path);
  } catch (error) {
    await lease.release();
    throw error;
  }
  return {
    client,
    mode: 'owner',
    refs: 0,
    async close() {
      await client.close();
      await drainPending(); // the engine lets go of the directory, so another one can be opened afterwards
      await lease.release();
    },
  };
}

/**
 * chdb in this process on `path`, without a lease: the caller holds it (or a test owns the
 * directory). Closing the client, then drainPending(), lets the engine go.
 */
export function openChdbClient(path: string): ClickHouseClient {
  try {
    // chdb types its connection against @clickhouse/client-common, which the client now vendors;
    // the shapes are the same at run time (chdb runs clickhouse-js's own parity suite).
    const connection = createChdbConnection({ path }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'];
    return createClient({ connection });
  } catch (error) {
    const message = (error as Error).message;
    throw new InfrastructureError(`cannot open the embedded analytics store at ${path}: ${message.split('\n')[0]}`, {
      hint: /lock/i.test(message) ? 'another process holds this data directory; only one journeyctl process can open it at a time' : undefined,
      cause: error,
    });
  }
}
