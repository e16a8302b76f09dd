// The shipped analytics store engines. A new engine is a spec here (or in its own folder) and a
// line in ANALYTICS_ENGINES; open-stores.ts and engine-admin.ts only look engines up (ADR 0005).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { JourneyConfig } from '../config/config.js';
import { isJourneyError } from '../errors.js';
import { acquireEmbeddedClickHouse, mayConnect } from './clickhouse/embedded-engine.js';
import { embeddedAnalyticsStore, openServerAnalytics } from './clickhouse/open-clickhouse.js';
import { inspectClickHouse, migrateServerAnalytics, redactUrl } from './clickhouse/server-admin.js';
import { judgeDataDirParts } from './data-dir.js';
import { bigqueryEngine } from './bigquery/open-bigquery.js';
import { buildEngineRegistry, type AnalyticsEngineSpec } from './engines.js';
import { healthRow as row } from './raw-engines.js';
import { damageError, REPAIR_HINT, type StoreDamage } from './store-damage.js';

type ServerConfig = Extract<JourneyConfig['stores']['analytics'], { engine: 'clickhouse' }>;
const serverSection = (config: JourneyConfig) => config.stores.analytics as ServerConfig;

export const chdbEngine: AnalyticsEngineSpec = {
  name: 'chdb',
  async open(config, raw, options) {
    const path = join(config.dataDir, 'analytics');
    const existed = existsSync(path);
    // Readers (and fix, reprocess) connect to a live process holding the directory instead of waiting
    // for it; commands that create or repair open it themselves (ADR 0016).
    const engine = await acquireEmbeddedClickHouse(config.dataDir, raw, { ...options, path, connect: mayConnect(options), serve: true });
    const store = embeddedAnalyticsStore(engine);
    // The holder judged and migrated the directory when it opened it.
    if (engine.mode === 'connected') return store;
    try {
      // Damage is looked for before migrate, which would re-create a deleted table (or analytics/) empty.
      const parts = config.stores.raw.engine === 'sqlite' ? await judgeDataDirParts(raw, store, path, existed) : null;
      if (parts && parts.damage.length > 0 && !options.allowDamage) throw damageError(parts.damage, hintFor(parts.damage));
      // Looking (doctor) must not hide what it found: a deleted table is re-created only by a command that creates (repair).
      if (!parts || parts.damage.length === 0 || options.create) await store.migrate();
      const broken = await store.brokenParts();
      if (broken.length > 0 && !options.allowDamage) throw damageError(broken);
      options.onDamage?.([...(parts?.damage ?? []), ...broken]);
      if (parts && parts.damage.length === 0) await parts.settle();
      // Judged and migrated: the directory is complete for processes that connect (embedded-engine.ts).
      await engine.ready();
      return store;
    } catch (error) {
      await store.close();
      throw error;
    }
  },
  admin(config, openBoth) {
    const location = `${config.dataDir}/analytics`;
    return {
      engine: 'chdb',
      location,
      label: resolve(config.dataDir),
      exclusive: true,
      async migrate(options) {
        // Opening creates the tables; the raw store is opened too, since the two parts are judged together.
        await openBoth(options);
        return `tables ready in ${location}`;
      },
      async health() {
        return [row('reachable', 'ok', `embedded chdb in ${location} (opened by one process at a time; tables created when opened)`)];
      },
    };
  },
};

function hintFor(damage: readonly StoreDamage[]): string {
  if (damage.some((d) => d.kind === 'raw store missing')) return 'restore raw.sqlite from a backup, or run `journeyctl repair --analytics-only` to rebuild analytics from the raw store as it is';
  if (damage.some((d) => d.kind === 'parts disagree'))
    return 'put back the raw.sqlite or analytics/ that belongs to this directory, or run `journeyctl repair --analytics-only` to rebuild analytics from this raw.sqlite';
  return REPAIR_HINT;
}

export const clickhouseEngine: AnalyticsEngineSpec = {
  name: 'clickhouse',
  open: async (config) => openServerAnalytics(serverSection(config)),
  admin(config) {
    const analytics = serverSection(config);
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
          return [
            row(
              'reachable',
              'fail',
              isJourneyError(error) ? error.message : String(error),
              isJourneyError(error) && error.hint ? error.hint : `start ClickHouse or fix --clickhouse-url; docker compose up -d clickhouse`,
            ),
          ];
        }
      },
    };
  },
};

/** The analytics engines journeyctl ships; `stores.analytics.engine` selects one by name. */
export const ANALYTICS_ENGINES = buildEngineRegistry([chdbEngine, clickhouseEngine, bigqueryEngine]);
