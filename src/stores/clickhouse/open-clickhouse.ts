import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { drainPending } from 'chdb';
import { createChdbConnection } from 'chdb/connection';
import { InfrastructureError } from '../../errors.js';
import { type ClickHouseAnalyticsStore, createClickHouseAnalyticsStore } from './clickhouse-analytics-store.js';

const EMBEDDED_DATABASE = 'journeyctl';

/**
 * chdb in this process. chdb locks its directory to one process and binds one directory per
 * process, so the caller must hold the analytics lease first; close() waits for the engine to
 * let go (drainPending) so another directory can be opened afterwards.
 */
export async function openEmbeddedAnalytics(path: string, onClose: () => Promise<void>, options: { streamPageRows?: number; migrate?: boolean } = {}): Promise<ClickHouseAnalyticsStore> {
  let client;
  try {
    // chdb types its connection against @clickhouse/client-common, which the client now vendors;
    // the shapes are the same at run time (chdb runs clickhouse-js's own parity suite).
    const connection = createChdbConnection({ path }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'];
    client = createClient({ connection });
  } catch (error) {
    const message = (error as Error).message;
    throw new InfrastructureError(`cannot open the embedded analytics store at ${path}: ${message.split('\n')[0]}`, {
      hint: /lock/i.test(message) ? 'another process holds this data directory; only one journeyctl process can open it at a time' : undefined,
      cause: error,
    });
  }
  const store = createClickHouseAnalyticsStore(
    client,
    EMBEDDED_DATABASE,
    'chdb',
    async () => {
      await drainPending();
      await onClose();
    },
    options.streamPageRows,
  );
  if (options.migrate !== false) await store.migrate();
  return store;
}

/** Events an embedded analytics directory holds, without creating or changing anything; null when it cannot be read. */
export async function countEmbeddedEvents(path: string): Promise<number | null> {
  let store: ClickHouseAnalyticsStore | null = null;
  try {
    store = await openEmbeddedAnalytics(path, async () => {}, { migrate: false });
    if (!(await store.existingTables()).includes('events')) return 0;
    return await store.eventCount();
  } catch {
    return null;
  } finally {
    await store?.close().catch(() => {});
  }
}

export interface ServerAnalyticsOptions {
  url: string;
  database: string;
  username: string;
  password: string;
}

export async function openServerAnalytics(options: ServerAnalyticsOptions): Promise<ClickHouseAnalyticsStore> {
  // The store reports failures itself (one line, typed); the client's own multi-line error log would
  // repeat every retry of a consumer waiting out an outage.
  const client = createClient({ url: options.url, username: options.username, password: options.password, request_timeout: 60_000, log: { level: ClickHouseLogLevel.OFF } });
  const store = createClickHouseAnalyticsStore(client, options.database, 'clickhouse');
  await store.migrate();
  return store;
}
