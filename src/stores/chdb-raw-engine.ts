// `stores.raw.engine: chdb`: raw events, rejected lines and copies in the data directory's chdb
// engine (the one analytics uses), the rest of the raw store in raw.sqlite (ADR 0021).
import { resolve } from 'node:path';
import type { JourneyConfig } from '../config/config.js';
import { createClickHouseContext } from './clickhouse/clickhouse-connection.js';
import { acquireEmbeddedClickHouse, mayConnect } from './clickhouse/embedded-engine.js';
import { composeRawStore, createClickHouseRawContext, migrateRawTables } from './clickhouse/raw/compose-raw-store.js';
import { dataDirLayout, noDataError } from './data-dir.js';
import type { AnalyticsOpenOptions, RawEngineSpec, RawOpenOptions } from './engines.js';
import type { RawStore } from './raw-store.js';
import { SqliteRawStore } from './sqlite/sqlite-raw-store.js';

/** The database analytics uses in the embedded engine: the raw tables sit beside its tables. */
const EMBEDDED_DATABASE = 'journeyctl';

/**
 * Opens raw.sqlite, then the data directory's chdb engine through the process-wide acquire
 * (embedded-engine.ts: chdb binds one directory per process, so raw and analytics share one
 * client; the first acquire takes the analytics lease), and composes the two. Owning the engine,
 * batches are spooled to `<data dir>/spool` for ClickHouse to read; connected to the process that
 * owns it, they go in the request body.
 */
export async function openChdbRawStore(config: JourneyConfig, options: RawOpenOptions): Promise<RawStore> {
  const layout = dataDirLayout(config.dataDir);
  if (!options.create && !layout.rawFile && !layout.analyticsPresent) throw noDataError(layout);
  const base = SqliteRawStore.open(layout.rawPath);
  // Raw stores open before analytics and are also opened alone (check, explain, fix): the lease
  // options come with the open options when the caller has them (openStores passes its own).
  const lease = options as RawOpenOptions & Partial<AnalyticsOpenOptions>;
  let engine;
  try {
    engine = await acquireEmbeddedClickHouse(config.dataDir, base, {
      command: lease.command ?? 'journeyctl',
      waitMs: lease.waitMs ?? 0,
      log: lease.log ?? (() => {}),
      // Beside a holder (a running `run`), readers connect to it; the analytics store opens with the same rule.
      connect: mayConnect(options),
      // A reader owning the directory serves it once its raw tables are ready (it may open no
      // analytics store: check, explain, fix); a command that creates leaves that to analytics.
      serve: mayConnect(options),
    });
  } catch (error) {
    await base.close();
    throw error;
  }
  try {
    const ctx = createClickHouseRawContext(createClickHouseContext(engine.client, EMBEDDED_DATABASE, 'chdb'), { spoolDir: engine.spoolDir });
    // Connected, the holder made the tables before it served: a reader beside a `run` sends no
    // CREATE statements, each of which would queue behind the holder's work (ADR 0016).
    if (engine.mode === 'owner') await migrateRawTables(ctx);
    await engine.ready();
    // Only the owner finishes a killed writer's replacements: beside a live holder, its writer may be mid-batch.
    return await composeRawStore(base, ctx, { engine: 'chdb', onClose: () => engine.release(), finishPending: engine.mode === 'owner' });
  } catch (error) {
    await engine.release();
    await base.close();
    throw error;
  }
}

export const chdbRawEngine: RawEngineSpec = {
  name: 'chdb',
  open: openChdbRawStore,
  admin: {
    location: (config) => `${config.dataDir}/raw.sqlite + ${config.dataDir}/analytics (raw tables)`,
    label: (config) => resolve(config.dataDir),
    migrate: async (_store, location) => `schema and raw tables ready in ${location}`,
    unreachableFix: () => 'check that the data directory is writable (--data-dir)',
    health: async () => [{ check: 'schema', status: 'ok', detail: 'created when opened (embedded: raw events in chdb, the rest in raw.sqlite)', fix: '' }],
  },
};
