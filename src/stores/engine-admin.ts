import type { JourneyConfig } from '../config/config.js';
import { isJourneyError, UsageError } from '../errors.js';
import { ANALYTICS_ENGINES } from './analytics-engines.js';
import type { AnalyticsEngineRegistry, RawEngineRegistry } from './engines.js';
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
    async migrate(options) {
      const onCluster = options.cluster !== undefined && admin.migrateCluster ? await admin.migrateCluster(config, options.cluster) : null;
      const store = await openRawStore(config, { create: true, engines });
      try {
        const ready = await admin.migrate(store, location);
        return onCluster ? `${onCluster}; ${ready}` : ready;
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
        return [row('reachable', 'ok', `${engine} at ${location}`), ...(await admin.health(store, location, config))];
      } finally {
        await store.close();
      }
    },
  };
}

/** The EngineAdmin of the configured analytics store, from its spec in the engine registry (ANALYTICS_ENGINES unless a test passes its own). */
export function analyticsEngineAdmin(config: JourneyConfig, engines: AnalyticsEngineRegistry = ANALYTICS_ENGINES): EngineAdmin {
  return engines.get(config.stores.analytics.engine, 'stores.analytics.engine').admin(config, async (options) => {
    const raw = await openRawStore(config, { create: true });
    try {
      const store = await openAnalyticsStore(config, raw, { command: options.command, waitMs: options.waitMs, log: options.log, analyticsEngines: engines });
      await store.close();
    } finally {
      await raw.close();
    }
  });
}
