import { resolve } from 'node:path';
import type { JourneyConfig } from '../config/config.js';
import { isJourneyError, UsageError } from '../errors.js';
import { inspectClickHouse, migrateServerAnalytics, redactUrl } from './clickhouse/server-admin.js';
import type { RawEngineRegistry } from './engines.js';
import { openAnalyticsStore, openRawStore } from './open-stores.js';
import type { EngineAdmin } from './ports/engine-admin.js';
import { healthRow, RAW_ENGINES } from './raw-engines.js';
import type { RawStore } from './raw-store.js';

export type { EngineAdmin, HealthRow } from './ports/engine-admin.js';

const row = healthRow;
const messageOf = (error: unknown) => (isJourneyError(error) ? error.message : String(error));

/** The EngineAdmin of the configured raw store, from its spec in the engine registry (RAW_ENGINES unless a test passes its own). */
export function rawEngineAdmin(config: JourneyConfig, engines: RawEngineRegistry = RAW_ENGINES): EngineAdmin {
  const engine = config.stores.raw.engine;
  const { admin } = engines.get(engine, 'stores.raw.engine');
  const location = admin.location(config);
  return {
    engine,
    location,
    label: admin.label(config),
    exclusive: false,
    async migrate() {
      const store = await openRawStore(config, { create: true, engines });
      try {
        return await admin.migrate(store, location);
      } finally {
        await store.close();
      }
    },
    async health() {
      let store: RawStore;
      try {
        store = await openRawStore(admin.quickConfig?.(config) ?? config, { allowDamage: true, engines });
      } catch (error) {
        if (error instanceof UsageError) return [row('reachable', 'skip', error.message, 'journeyctl run --input FILE creates the data directory')];
        const message = messageOf(error);
        return [row('reachable', 'fail', message, admin.unreachableFix(message, location))];
      }
      try {
        return [row('reachable', 'ok', `${engine} at ${location}`), ...(await admin.health(store, location))];
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
