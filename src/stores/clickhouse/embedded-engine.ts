import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { InfrastructureError } from '../../errors.js';
import { acquireLease, currentHolder, type HeldLease, isHolderAlive, type LeaseOptions } from '../lease.js';
import type { LeaseHolder, MetaAndLeases } from '../ports/meta-and-leases.js';
import type { ChdbHttpServer } from './serve/chdb-http-server.js';
import { newServeToken, readServedEndpoint, removeServedEndpoint, type ServedEndpoint, writeServedEndpoint } from './serve/served-endpoint.js';
import { prepareSpoolDir, spoolDirOf } from './spool.js';

/** The lease naming the one process that opens a data directory's chdb engine. */
export const EMBEDDED_LEASE = 'the embedded analytics store';

export interface EmbeddedClickHouse {
  /** chdb in this process ('owner'), or HTTP to the process that owns the directory ('connected'). */
  readonly client: ClickHouseClient;
  readonly mode: 'owner' | 'connected';
  /** The chdb directory. */
  readonly path: string;
  /** Owner: `<data dir>/spool`, where rows are spooled for chdb to read with file() (spool.ts). Connected: null. */
  readonly spoolDir: string | null;
  /**
   * This acquire's store is open and its tables exist. The one rule for serving (ADR 0016): a
   * process owning the directory serves it to other journeyctl processes, on a loopback port
   * recorded in the data directory, once every acquire it holds is ready and one of them was
   * allowed to serve (`serve`). A no-op when connected or already serving. A failure to serve is
   * logged, not thrown: other processes then wait for this one, as before.
   */
  ready(): Promise<void>;
  /** Lets go of this acquire; the last one stops serving, closes the engine and releases the lease. */
  release(): Promise<void>;
}

export interface AcquireEmbeddedOptions extends LeaseOptions {
  /** The command opening it, shown to any process that has to wait. */
  command: string;
  /** The chdb directory; `<dataDir>/analytics` unless a test puts it elsewhere. */
  path?: string;
  /**
   * When another live process holds the directory and serves it, connect to it over HTTP instead
   * of waiting for it (readers, and fix/reprocess, whose derives take the `derivation` lease).
   */
  connect?: boolean;
  /**
   * Once ready, this acquire leaves the directory complete for others to read: a reader (it found
   * the tables in place), or the analytics store (it judged and migrated the whole directory). A
   * raw store opened to create waits for the analytics store: a reader must never see a directory
   * without its tables.
   */
  serve?: boolean;
  /**
   * Only connect to a live process serving the directory; never open it here, nor wait (tail
   * --follow: holding it would make the next `run` wait for the tail). Refused (exit 3) when no
   * live process serves it; a connection that outlives its holder connects to the next one.
   */
  connectOnly?: boolean;
}

/**
 * Who may connect to a holder instead of waiting for it: a command that neither creates the
 * directory (run, migrate, demo) nor repairs it (repair, doctor). The raw store on chdb and the
 * analytics store open with the same rule, so one process gets one mode.
 */
export function mayConnect(options: { create?: boolean; allowDamage?: boolean }): boolean {
  return !options.create && !options.allowDamage;
}

interface Shared {
  client: ClickHouseClient;
  mode: 'owner' | 'connected';
  spoolDir: string | null;
  refs: number;
  /** Acquires not ready yet, and whether a ready one may serve (acquireEmbeddedClickHouse applies the rule). */
  unready: number;
  mayServe: boolean;
  serve(): Promise<void>;
  close(): Promise<void>;
}

/** How long a reader waits for a live holder that has not published its endpoint yet (it is still opening). */
const SERVE_GRACE_MS = 30_000;
/** A connected query may queue behind others: the owner answers one at a time. */
const CONNECTED_REQUEST_TIMEOUT_MS = 600_000;

/**
 * One engine per data directory per process: chdb binds one directory per process and locks it,
 * so every part of journeyctl that reads or writes it (the analytics store, the raw store on chdb)
 * shares one client, counted by acquires. The first acquire takes the lease and opens chdb, or,
 * with `connect`, connects to the live process that holds and serves the directory.
 */
const shared = new Map<string, Promise<Shared>>();

export async function acquireEmbeddedClickHouse(dataDir: string, leases: MetaAndLeases, options: AcquireEmbeddedOptions): Promise<EmbeddedClickHouse> {
  const path = resolve(options.path ?? join(dataDir, 'analytics'));
  let pending = shared.get(path);
  if (!pending) {
    pending = openShared(dataDir, path, leases, options);
    shared.set(path, pending);
    pending.catch(() => shared.delete(path));
  }
  const entry = await pending;
  entry.refs += 1;
  entry.unready += 1;
  let isReady = false;
  let released = false;
  const markReady = () => {
    if (isReady) return false;
    isReady = true;
    entry.unready -= 1;
    return true;
  };
  return {
    client: entry.client,
    mode: entry.mode,
    spoolDir: entry.spoolDir,
    path,
    async ready() {
      if (!markReady()) return;
      if (options.serve) entry.mayServe = true;
      if (entry.unready === 0 && entry.mayServe) await entry.serve();
    },
    async release() {
      if (released) return;
      released = true;
      markReady();
      entry.refs -= 1;
      if (entry.refs > 0) return;
      shared.delete(path);
      await entry.close();
    },
  };
}

async function openShared(dataDir: string, path: string, leases: MetaAndLeases, options: AcquireEmbeddedOptions): Promise<Shared> {
  const holder = currentHolder(options.command);
  if (options.connectOnly) {
    const endpoint = readServedEndpoint(dataDir);
    const client = endpoint && isHolderAlive(endpoint) ? await connectTo(endpoint) : null;
    if (!client) throw new InfrastructureError(`no live journeyctl process serves ${path}`, { hint: `${options.command} reads it only through the process holding it (a running \`journeyctl run\`)` });
    return withFailover(connectedTo(client), () => openShared(dataDir, path, leases, options));
  }
  if (options.connect) {
    const connected = await connectWhileHeld(dataDir, leases, holder, options);
    if (connected) return withFailover(connected, () => openShared(dataDir, path, leases, options));
  }
  const lease: HeldLease = await acquireLease(leases, EMBEDDED_LEASE, holder, options);
  let client: ClickHouseClient;
  let spoolDir: string;
  try {
    // The lease is ours: spool files in the directory are a killed process's leftovers.
    spoolDir = prepareSpoolDir(spoolDirOf(resolve(dataDir)));
    client = await openChdbClient(path);
  } catch (error) {
    await lease.release();
    throw error;
  }
  let serving: Promise<{ server: ChdbHttpServer; record: ServedEndpoint } | null> | null = null;
  return {
    client,
    mode: 'owner',
    spoolDir,
    refs: 0,
    unready: 0,
    mayServe: false,
    serve() {
      serving ??= startServing(dataDir, path, options).catch((error: unknown) => {
        options.log(`cannot serve ${path} to other processes (they will wait for this one): ${(error as Error).message}`);
        return null;
      });
      return serving.then(() => {});
    },
    async close() {
      const served = await serving;
      if (served) {
        removeServedEndpoint(dataDir, served.record);
        servedRecords.delete(served.record);
        await served.server.close();
      }
      await client.close();
      await letGoOfChdb(); // the engine lets go of the directory, so another one can be opened afterwards
      await lease.release();
    },
  };
}

/** Endpoints this process has published, removed if it exits without closing (process.exit, a signal). */
const servedRecords = new Map<ServedEndpoint, string>();
const removeServedRecords = () => {
  for (const [record, dataDir] of servedRecords) removeServedEndpoint(dataDir, record);
  servedRecords.clear();
};
process.on('exit', removeServedRecords);
let signalsWatched = false;
/**
 * SIGTERM to a process with no handler of its own (a `run` on a file) ends it at once: the record
 * goes first, then the signal's default action. A process that handles the signal (a stream's
 * graceful stop, tail --follow) closes its stores, which removes the record. SIGINT is left to
 * bin/journeyctl.js, which exits (the 'exit' hook removes the record): a second listener here
 * would read to it as a command handling SIGINT itself, and neither would end the process.
 */
function watchSignals(): void {
  if (signalsWatched) return;
  signalsWatched = true;
  for (const signal of ['SIGTERM'] as const) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) return;
      removeServedRecords();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

async function startServing(dataDir: string, path: string, options: AcquireEmbeddedOptions): Promise<{ server: ChdbHttpServer; record: ServedEndpoint }> {
  const token = newServeToken();
  const served = { path, password: token, maxConcurrentQueries: 1 };
  const { startChdbHttpServerOnThread } = await import('./serve/serving-thread.js');
  const server = (await startChdbHttpServerOnThread(served)) ?? (await (await import('./serve/chdb-http-server.js')).startChdbHttpServer(served));
  const record = writeServedEndpoint(dataDir, { url: server.url, token, command: options.command, startedAt: Date.now() });
  servedRecords.set(record, dataDir);
  watchSignals();
  return { server, record };
}

/**
 * While another live process holds the lease: its served endpoint, as soon as it is published
 * and answers with its token. Null when the lease is free (this process opens the directory) or
 * the holder does not serve (a stale record of a killed owner is ignored): then the caller takes
 * the lease as before, waiting or naming the holder.
 *
 * A published endpoint that answers with its token is looked at first: only a live holder
 * serves (it removes the record before it lets go of the lease), and trying the lease takes a
 * write transaction on raw.sqlite, which waits behind the holder's batch in progress (the first
 * rows of a reader beside a `run`, ADR 0016).
 */
async function connectWhileHeld(dataDir: string, leases: MetaAndLeases, holder: LeaseHolder, options: AcquireEmbeddedOptions): Promise<Shared | null> {
  const graceEnd = Date.now() + Math.max(options.waitMs, SERVE_GRACE_MS);
  for (;;) {
    const endpoint = readServedEndpoint(dataDir);
    if (endpoint && isHolderAlive(endpoint)) {
      const client = await connectTo(endpoint);
      if (client) return connectedTo(client);
    }
    const attempt = await leases.acquireLease(EMBEDDED_LEASE, holder, options.ttlMs ?? 30_000);
    if (attempt.acquired) return null; // free: acquireLease takes it again (the same holder) and renews it
    if (!isHolderAlive(attempt.holder) || Date.now() >= graceEnd) return null;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function connectedTo(client: ClickHouseClient): Shared {
  return { client, mode: 'connected', spoolDir: null, refs: 0, unready: 0, mayServe: false, serve: async () => {}, close: () => client.close() };
}

/**
 * A connected process may outlive the holder it connected to (a fix or reprocess still working
 * when `run` ends). A request the holder never received (connection refused; for reads, also a
 * connection reset) is sent again after acquiring anew: connected to the next holder, or the
 * directory opened here (and served) once it is free. A request that may have been executed is
 * not repeated: its error stands.
 */
function withFailover(first: Shared, reopen: () => Promise<Shared>): Shared {
  let current = first;
  let reopening: Promise<Shared> | null = null;
  const replace = async (failed: Shared): Promise<Shared> => {
    if (current !== failed) return current;
    reopening ??= (async () => {
      await failed.close().catch(() => {});
      const next = await reopen();
      await next.serve();
      current = next;
      return next;
    })().finally(() => {
      reopening = null;
    });
    return reopening;
  };
  const retrying = (method: 'query' | 'command' | 'exec' | 'insert', retriable: (error: unknown) => boolean) =>
    async function (params: unknown): Promise<unknown> {
      const used = current;
      const call = (client: ClickHouseClient) => (client[method] as (params: unknown) => Promise<unknown>).call(client, params);
      try {
        return await call(used.client);
      } catch (error) {
        if (!retriable(error)) throw error;
        return call((await replace(used)).client);
      }
    };
  const methods: Record<string, (params: unknown) => Promise<unknown>> = {
    query: retrying('query', (error) => notReceived(error) || connectionReset(error)),
    command: retrying('command', notReceived),
    exec: retrying('exec', notReceived),
    insert: retrying('insert', notReceived),
  };
  const client = new Proxy(first.client, {
    get(_target, property) {
      if (typeof property === 'string' && property in methods) return methods[property];
      const value: unknown = Reflect.get(current.client, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current.client) : value;
    },
  });
  return { client, mode: 'connected', spoolDir: null, refs: 0, unready: 0, mayServe: false, serve: () => current.serve(), close: () => current.close() };
}

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;
const notReceived = (error: unknown) => errorCode(error) === 'ECONNREFUSED';
const connectionReset = (error: unknown) => errorCode(error) === 'ECONNRESET' || /socket hang up/i.test((error as Error | null)?.message ?? '');

/**
 * A client of the endpoint when something listens there; null for a record nothing answers (a
 * killed owner's). The check is a TCP connect, which the kernel answers even while the holder's
 * event loop is busy with a batch: a request (`SELECT 1` before) waited for that loop, a second
 * wait before a reader's first row beside a `run` (ADR 0016). The token is not checked here:
 * every request carries it, so a server that is not the holder answers none of them. A holder
 * on another machine (a data directory on a shared filesystem) serves on its own loopback: not
 * reachable from here, whatever listens on that port here.
 */
async function connectTo(endpoint: ServedEndpoint): Promise<ClickHouseClient | null> {
  if (endpoint.hostname !== hostname() || !(await listening(endpoint.url))) return null;
  return createClient({ url: endpoint.url, username: 'default', password: endpoint.token, request_timeout: CONNECTED_REQUEST_TIMEOUT_MS, log: { level: ClickHouseLogLevel.OFF } });
}

const LISTENING_TIMEOUT_MS = 5_000;

function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port) });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(LISTENING_TIMEOUT_MS, () => done(false));
  });
}

/**
 * chdb in this process on `path`, without a lease: the caller holds it (or a test owns the
 * directory). Closing the client, then letGoOfChdb(), lets the engine go. chdb is loaded here,
 * when a directory is opened, not by every command: a process connected to the holder never
 * loads it (~0.1–0.3 s of start-up).
 */
export async function openChdbClient(path: string): Promise<ClickHouseClient> {
  const { createChdbConnection } = await import('chdb/connection');
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

/** Waits for chdb to let go of its directory (drainPending), so another one can be opened afterwards. */
export async function letGoOfChdb(): Promise<void> {
  const { drainPending } = await import('chdb');
  await drainPending();
}
