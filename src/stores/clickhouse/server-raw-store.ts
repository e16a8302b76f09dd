import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { RawStore } from '../raw-store.js';
import { createClickHouseContext } from './clickhouse-connection.js';
import type { ServerAnalyticsOptions } from './open-clickhouse.js';
import { composeRawStore, createClickHouseRawContext, migrateRawTables, type RawBase } from './raw/compose-raw-store.js';
import { rawSchemaStatements } from './raw/raw-schema.js';
import { clusterSchemaStatements, type ClickHouseInspection, inspectClickHouse, runOnCluster } from './server-admin.js';

/**
 * Raw events in a ClickHouse server (`stores.raw.engine: clickhouse`): the raw tables of
 * raw/raw-schema.ts over HTTP, batches sent as the request body (no spool file: the server cannot
 * read this machine's files), beside `base` (MongoDB) for everything small and mutable.
 * `create` (run, migrate) creates the raw tables when missing.
 */
export async function openServerRawStore(base: RawBase, options: ServerAnalyticsOptions, open: { create?: boolean } = {}): Promise<RawStore> {
  const client = createClient({ url: options.url, username: options.username, password: options.password, request_timeout: 60_000, log: { level: ClickHouseLogLevel.OFF } });
  try {
    const ctx = createClickHouseRawContext(createClickHouseContext(client, options.database, 'clickhouse'), { spoolDir: null });
    if (open.create) await migrateRawTables(ctx);
    // The event log marks a batch's ids dirty again once its rows are in (raw-event-log.ts, step 5),
    // so a derivation in another process of the group that cleared the first marks misses nothing.
    return await composeRawStore(base, ctx, { engine: 'clickhouse', onClose: () => client.close() });
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** `migrate --cluster`: the raw tables ON CLUSTER with Replicated engines (server-admin.ts), before anything opens them. */
export async function migrateServerRawTablesOnCluster(options: ServerAnalyticsOptions, cluster: string): Promise<string[]> {
  return runOnCluster(options, clusterSchemaStatements(options.database, cluster, rawSchemaStatements(options.database)), cluster, 'raw');
}

/** For doctor: reachable, version, raw tables present. */
export function inspectServerRawTables(options: ServerAnalyticsOptions): Promise<ClickHouseInspection> {
  return inspectClickHouse(options, rawSchemaStatements(options.database));
}
