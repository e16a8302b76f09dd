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
    const marked = remarkAfterRows(base);
    return marked.around(await composeRawStore(marked.base, ctx, { engine: 'clickhouse', onClose: () => client.close() }));
  } catch (error) {
    await client.close();
    throw error;
  }
}

/**
 * The event log marks a batch's ids dirty before its rows land (so a kill in between loses
 * nothing). On a server, another process of the consumer group may derive in between: it reads
 * the marks, not yet the rows, and clears the marks — those events would wait for the next event
 * of their user. So the same ids are marked once more after the rows are in (marks are
 * idempotent; one batch is in flight per store).
 */
function remarkAfterRows(base: RawBase): { base: RawBase; around(store: RawStore): RawStore } {
  let dirty: ReadonlySet<string> | null = null;
  const marking: RawBase = {
    ...base,
    async recordArrivals(links, ids) {
      dirty = ids;
      await base.recordArrivals(links, ids);
    },
  };
  const remark = async <T>(write: () => Promise<T>): Promise<T> => {
    dirty = null;
    const result = await write();
    const ids = dirty as ReadonlySet<string> | null;
    if (ids !== null && ids.size > 0) await base.recordArrivals(new Map(), ids);
    return result;
  };
  return {
    base: marking,
    around: (store) => ({
      ...store,
      writeBatch: (accepted, rejected) => remark(() => store.writeBatch(accepted, rejected)),
      writeEncodedBatch: (accepted, rejected) => remark(() => store.writeEncodedBatch(accepted, rejected)),
    }),
  };
}

/** `migrate --cluster`: the raw tables ON CLUSTER with Replicated engines (server-admin.ts), before anything opens them. */
export async function migrateServerRawTablesOnCluster(options: ServerAnalyticsOptions, cluster: string): Promise<string[]> {
  return runOnCluster(options, clusterSchemaStatements(options.database, cluster, rawSchemaStatements(options.database)), cluster, 'raw');
}

/** For doctor: reachable, version, raw tables present. */
export function inspectServerRawTables(options: ServerAnalyticsOptions): Promise<ClickHouseInspection> {
  return inspectClickHouse(options, rawSchemaStatements(options.database));
}
