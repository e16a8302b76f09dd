// The shipped raw store engines. A new engine is a spec here (or in its own folder) and a line
// in RAW_ENGINES; open-stores.ts and engine-admin.ts only look engines up (ADR 0005).
import { resolve } from 'node:path';
import type { ClickHouseRawStoreConfig, JourneyConfig } from '../config/config.js';
import { isJourneyError } from '../errors.js';
import { chdbRawEngine } from './chdb-raw-engine.js';
import { countEmbeddedEvents } from './clickhouse/open-clickhouse.js';
import { redactUrl } from './clickhouse/server-admin.js';
import { inspectServerRawTables, migrateServerRawTablesOnCluster, openServerRawStore } from './clickhouse/server-raw-store.js';
import { dataDirLayout, noDataError } from './data-dir.js';
import { buildEngineRegistry, type RawEngineSpec } from './engines.js';
import type { MongoRawStore } from './mongo/mongo-raw-store.js';
import { databaseInMongoUrl, redactMongoUrl } from './mongo/mongo-url.js';
import type { HealthRow } from './ports/engine-admin.js';
import { SqliteRawStore } from './sqlite/sqlite-raw-store.js';
import { damageError } from './store-damage.js';

export const healthRow = (check: string, status: HealthRow['status'], detail: string, fix = ''): HealthRow => ({ check, status, detail, fix });

type MongoConfig = Extract<JourneyConfig['stores']['raw'], { engine: 'mongodb' }>;
const mongoSection = (config: JourneyConfig) => config.stores.raw as MongoConfig;

export const sqliteEngine: RawEngineSpec = {
  name: 'sqlite',
  async open(config, options) {
    const layout = dataDirLayout(config.dataDir);
    if (!options.create && !layout.rawFile && !layout.analyticsPresent) throw noDataError(layout);
    // Opening would create an empty raw.sqlite beside analytics that still hold data: a new, empty world.
    if (!options.allowDamage && !layout.rawPresent && layout.analyticsPresent) {
      const events = config.stores.analytics.engine === 'chdb' ? await countEmbeddedEvents(layout.analyticsPath) : null;
      if (events !== 0) {
        throw damageError(
          [
            {
              store: 'raw store',
              kind: 'raw store missing',
              detail: `the raw store is ${layout.rawFile ? 'empty' : 'missing'} (${layout.rawPath}) but analytics holds ${events ?? 'stored'} events`,
            },
          ],
          `restore raw.sqlite from a backup, or run \`journeyctl repair --analytics-only\` to rebuild analytics from the raw store as it is (losing what only analytics held)`,
        );
      }
    }
    return SqliteRawStore.open(layout.rawPath);
  },
  admin: {
    location: (config) => `${config.dataDir}/raw.sqlite`,
    label: (config) => resolve(config.dataDir),
    migrate: async (_store, location) => `schema ready in ${location}`,
    unreachableFix: () => 'check that the data directory is writable (--data-dir)',
    health: async () => [healthRow('schema', 'ok', 'created when opened (embedded)')],
  },
};

export const mongoEngine: RawEngineSpec = {
  name: 'mongodb',
  async open(config) {
    const raw = mongoSection(config);
    // The driver loads only when a MongoDB store is opened (start-up of every other command).
    const { MongoRawStore } = await import('./mongo/mongo-raw-store.js');
    // The database named in the connection string's path wins over stores.raw.database.
    return MongoRawStore.open({ url: raw.url, database: databaseInMongoUrl(raw.url) ?? raw.database });
  },
  admin: {
    location: (config) => redactMongoUrl(mongoSection(config).url),
    label: () => 'mongodb',
    async migrate(store, location) {
      await (store as MongoRawStore).migrate();
      return `collections and indexes ready at ${location}`;
    },
    // A quick answer: a server that is down is reported in seconds, not after the driver's 10 s.
    quickConfig: (config) => ({ ...config, stores: { ...config.stores, raw: { ...mongoSection(config), url: withOption(mongoSection(config).url, 'serverSelectionTimeoutMS', '3000') } } }),
    unreachableFix: (message, location) =>
      /authentication/i.test(message) ? 'fix the user/password in the connection string (--mongo-url)' : `start MongoDB or fix --mongo-url (${location}); docker compose up -d mongodb`,
    async health(store) {
      const admin = store as MongoRawStore;
      const info = await admin.serverInfo();
      const missing = await admin.missingSchema();
      return [
        healthRow('version', 'ok', info.ferretdb ? `FerretDB ${info.ferretdb} (MongoDB ${info.version} wire protocol)` : `MongoDB ${info.version}`),
        missing.length === 0 ? healthRow('collections and indexes', 'ok', 'all present') : healthRow('collections and indexes', 'fail', `missing: ${missing.join(', ')}`, 'run journeyctl migrate'),
      ];
    },
  },
};

const clickhouseSection = (config: JourneyConfig) => config.stores.raw as ClickHouseRawStoreConfig;
/** The config of the MongoDB part of a ClickHouse raw store, as the mongodb engine reads it. */
const mongoPart = (config: JourneyConfig): JourneyConfig => {
  const raw = clickhouseSection(config);
  return { ...config, stores: { ...config.stores, raw: { engine: 'mongodb', url: raw.mongoUrl, database: raw.mongoDatabase } } };
};
const clickhouseOptions = ({ url, database, username, password }: ClickHouseRawStoreConfig) => ({ url, database, username, password });

/**
 * `stores.raw.engine: clickhouse`: raw events, rejected lines and copies in a ClickHouse server
 * (clickhouse/raw/, over HTTP), identity links, dirty ids, corrections, audit, leases, meta and
 * profiles in MongoDB (small, mutable, shared by processes; ADR 0020).
 */
export const clickhouseRawEngine: RawEngineSpec = {
  name: 'clickhouse',
  async open(config, options) {
    const base = (await mongoEngine.open(mongoPart(config), options)) as MongoRawStore;
    try {
      return await openServerRawStore(base, clickhouseOptions(clickhouseSection(config)), { create: options.create });
    } catch (error) {
      await base.close();
      throw error;
    }
  },
  admin: {
    location: (config) => `${redactUrl(clickhouseSection(config).url)} + ${mongoEngine.admin.location(mongoPart(config))}`,
    label: () => 'clickhouse',
    async migrate(store, location) {
      await mongoEngine.admin.migrate(store, location); // the composed store carries the MongoDB part's admin
      return `raw tables, collections and indexes ready at ${location}`;
    },
    async migrateCluster(config, cluster) {
      const statements = await migrateServerRawTablesOnCluster(clickhouseOptions(clickhouseSection(config)), cluster);
      return `${statements.length - 1} raw tables on cluster ${cluster} (Replicated engines)`;
    },
    quickConfig(config) {
      const quick = mongoEngine.admin.quickConfig!(mongoPart(config)).stores.raw as MongoConfig;
      return { ...config, stores: { ...config.stores, raw: { ...clickhouseSection(config), mongoUrl: quick.url } } };
    },
    unreachableFix: (message, location) => `${mongoEngine.admin.unreachableFix(message, location)}; or start ClickHouse / fix stores.raw.url`,
    async health(store, location, config) {
      const raw = clickhouseSection(config);
      const rows = await mongoEngine.admin.health(store, location, mongoPart(config));
      try {
        const found = await inspectServerRawTables(clickhouseOptions(raw));
        rows.push(
          healthRow('ClickHouse version', 'ok', `ClickHouse ${found.version} at ${redactUrl(raw.url)}, database ${raw.database}`),
          found.missingTables.length === 0
            ? healthRow('raw tables', 'ok', 'all present')
            : healthRow('raw tables', 'fail', `missing in ${raw.database}: ${found.missingTables.join(', ')}`, 'run journeyctl migrate (with --cluster NAME on a cluster)'),
        );
      } catch (error) {
        rows.push(healthRow('raw tables', 'fail', isJourneyError(error) ? error.message : String(error), 'start ClickHouse or fix stores.raw.url'));
      }
      return rows;
    },
  },
};

/** The raw engines journeyctl ships; `stores.raw.engine` selects one by name. */
export const RAW_ENGINES = buildEngineRegistry([sqliteEngine, mongoEngine, clickhouseRawEngine, chdbRawEngine]);

function withOption(url: string, name: string, value: string): string {
  if (new RegExp(`[?&]${name}=`, 'i').test(url)) return url;
  return `${url}${url.includes('?') ? '&' : url.replace(/^mongodb(\+srv)?:\/\/[^/]*/, '') === '' ? '/?' : '?'}${name}=${value}`;
}
