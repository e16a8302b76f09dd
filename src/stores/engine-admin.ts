import { resolve } from 'node:path';
import type { JourneyConfig } from '../config/config.js';
import { isJourneyError, UsageError } from '../errors.js';
import { inspectClickHouse, migrateServerAnalytics, redactUrl } from './clickhouse/server-admin.js';
import { redactMongoUrl } from './mongo/mongo-connection.js';
import type { MongoRawStore } from './mongo/mongo-raw-store.js';
import { openAnalyticsStore, openRawStore } from './open-stores.js';
import type { EngineAdmin, HealthRow } from './ports/engine-admin.js';
import type { RawStore } from './raw-store.js';

export type { EngineAdmin, HealthRow } from './ports/engine-admin.js';

const row = (check: string, status: HealthRow['status'], detail: string, fix = ''): HealthRow => ({ check, status, detail, fix });
const messageOf = (error: unknown) => (isJourneyError(error) ? error.message : String(error));

/** The EngineAdmin of the configured raw store: with openRawStore, the one place that knows the raw engines. */
export function rawEngineAdmin(config: JourneyConfig): EngineAdmin {
  const raw = config.stores.raw;
  const mongo = raw.engine === 'mongodb';
  const location = mongo ? redactMongoUrl(raw.url) : `${config.dataDir}/raw.sqlite`;
  return {
    engine: raw.engine,
    location,
    label: mongo ? raw.engine : resolve(config.dataDir),
    exclusive: false,
    async migrate() {
      const store = await openRawStore(config, { create: true });
      try {
        if (mongo) await (store as MongoRawStore).migrate();
      } finally {
        await store.close();
      }
      return mongo ? `collections and indexes ready at ${location}` : `schema ready in ${location}`;
    },
    async health() {
      let store: RawStore;
      try {
        // A quick answer: a server that is down is reported in seconds, not after the driver's 10 s.
        store = await openRawStore(mongo ? { ...config, stores: { ...config.stores, raw: { ...raw, url: withOption(raw.url, 'serverSelectionTimeoutMS', '3000') } } } : config, { allowDamage: true });
      } catch (error) {
        if (error instanceof UsageError) return [row('reachable', 'skip', error.message, 'journeyctl run --input FILE creates the data directory')];
        const message = messageOf(error);
        const fix = /authentication/i.test(message)
          ? 'fix the user/password in the connection string (--mongo-url)'
          : mongo
            ? `start MongoDB or fix --mongo-url (${location}); docker compose up -d mongodb`
            : 'check that the data directory is writable (--data-dir)';
        return [row('reachable', 'fail', message, fix)];
      }
      try {
        const rows = [row('reachable', 'ok', `${raw.engine} at ${location}`)];
        if (!mongo) return [...rows, row('schema', 'ok', 'created when opened (embedded)')];
        const admin = store as MongoRawStore;
        const info = await admin.serverInfo();
        rows.push(row('version', 'ok', info.ferretdb ? `FerretDB ${info.ferretdb} (MongoDB ${info.version} wire protocol)` : `MongoDB ${info.version}`));
        const missing = await admin.missingSchema();
        rows.push(missing.length === 0 ? row('collections and indexes', 'ok', 'all present') : row('collections and indexes', 'fail', `missing: ${missing.join(', ')}`, 'run journeyctl migrate'));
        return rows;
      } finally {
        await store.close();
      }
    },
  };
}

/** The EngineAdmin of the configured analytics store. */
export function analyticsEngineAdmin(config: JourneyConfig): EngineAdmin {
  const analytics = config.stores.analytics;
  if (analytics.engine === 'chdb') {
    const location = `${config.dataDir}/analytics`;
    return {
      engine: 'chdb',
      location,
      label: resolve(config.dataDir),
      exclusive: true,
      async migrate(options) {
        // Opening creates the tables; the raw store is opened too, since the two parts are judged together.
        const raw = await openRawStore(config, { create: true });
        try {
          const store = await openAnalyticsStore(config, raw, { command: options.command, waitMs: options.waitMs, log: options.log });
          await store.close();
        } finally {
          await raw.close();
        }
        return `tables ready in ${location}`;
      },
      async health() {
        return [row('reachable', 'ok', `embedded chdb in ${location} (opened by one process at a time; tables created when opened)`)];
      },
    };
  }
  const location = redactUrl(analytics.url);
  return {
    engine: 'clickhouse',
    location,
    label: 'clickhouse',
    exclusive: false,
    async migrate(options) {
      const statements = await migrateServerAnalytics(analytics, options.cluster);
      return `database ${analytics.database} and ${statements.length - 1} tables ready at ${location}${options.cluster ? ` on cluster ${options.cluster} (Replicated engines)` : ''}`;
    },
    async health() {
      try {
        const found = await inspectClickHouse(analytics);
        return [
          row('reachable', 'ok', `ClickHouse at ${location}, database ${analytics.database}`),
          row('version', 'ok', `ClickHouse ${found.version}`),
          found.missingTables.length === 0
            ? row('tables', 'ok', 'all present')
            : row('tables', 'fail', `missing in ${analytics.database}: ${found.missingTables.join(', ')}`, 'run journeyctl migrate (with --cluster NAME on a cluster)'),
        ];
      } catch (error) {
        return [row('reachable', 'fail', messageOf(error), isJourneyError(error) && error.hint ? error.hint : `start ClickHouse or fix --clickhouse-url; docker compose up -d clickhouse`)];
      }
    },
  };
}

function withOption(url: string, name: string, value: string): string {
  if (new RegExp(`[?&]${name}=`, 'i').test(url)) return url;
  return `${url}${url.includes('?') ? '&' : url.replace(/^mongodb(\+srv)?:\/\/[^/]*/, '') === '' ? '/?' : '?'}${name}=${value}`;
}
