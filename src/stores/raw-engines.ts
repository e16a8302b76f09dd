// The shipped raw store engines. A new engine is a spec here (or in its own folder) and a line
// in RAW_ENGINES; open-stores.ts and engine-admin.ts only look engines up (ADR 0005).
import { resolve } from 'node:path';
import type { JourneyConfig } from '../config/config.js';
import { countEmbeddedEvents } from './clickhouse/open-clickhouse.js';
import { dataDirLayout, noDataError } from './data-dir.js';
import { buildEngineRegistry, type RawEngineSpec } from './engines.js';
import { databaseInMongoUrl, redactMongoUrl } from './mongo/mongo-connection.js';
import { MongoRawStore } from './mongo/mongo-raw-store.js';
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
  open(config) {
    const raw = mongoSection(config);
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

/** The raw engines journeyctl ships; `stores.raw.engine` selects one by name. */
export const RAW_ENGINES = buildEngineRegistry([sqliteEngine, mongoEngine]);

function withOption(url: string, name: string, value: string): string {
  if (new RegExp(`[?&]${name}=`, 'i').test(url)) return url;
  return `${url}${url.includes('?') ? '&' : url.replace(/^mongodb(\+srv)?:\/\/[^/]*/, '') === '' ? '/?' : '?'}${name}=${value}`;
}
