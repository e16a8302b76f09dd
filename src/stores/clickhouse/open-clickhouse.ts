import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { type ClickHouseAnalyticsStore, createClickHouseAnalyticsStore } from './clickhouse-analytics-store.js';
import { type EmbeddedClickHouse, letGoOfChdb, openChdbClient } from './embedded-engine.js';
import { prepareSpoolDir } from './spool.js';

const EMBEDDED_DATABASE = 'journeyctl';

/**
 * chdb in this process, without a lease (tests, and a look at a directory no one holds). chdb
 * locks its directory to one process and binds one directory per process; close() waits for the
 * engine to let go (drainPending) so another directory can be opened afterwards.
 */
export async function openEmbeddedAnalytics(
  path: string,
  onClose: () => Promise<void>,
  options: { streamPageRows?: number; migrate?: boolean; spoolDir?: string } = {},
): Promise<ClickHouseAnalyticsStore> {
  const client = await openChdbClient(path);
  const store = createClickHouseAnalyticsStore(
    client,
    EMBEDDED_DATABASE,
    'chdb',
    async () => {
      await client.close();
      await letGoOfChdb();
      await onClose();
    },
    options.streamPageRows,
    options.spoolDir === undefined ? null : prepareSpoolDir(options.spoolDir),
  );
  if (options.migrate !== false) await store.migrate();
  return store;
}

/** The analytics store over an acquired embedded engine (owned or connected); closing it releases the acquire. */
export function embeddedAnalyticsStore(engine: EmbeddedClickHouse): ClickHouseAnalyticsStore {
  return createClickHouseAnalyticsStore(engine.client, EMBEDDED_DATABASE, 'chdb', () => engine.release(), undefined, engine.spoolDir);
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
