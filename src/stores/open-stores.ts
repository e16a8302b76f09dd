import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JourneyConfig } from '../config/config.js';
import type { AnalyticsStore } from './analytics-store.js';
import type { ClickHouseAnalyticsStore } from './clickhouse/clickhouse-analytics-store.js';
import { openEmbeddedAnalytics, openServerAnalytics } from './clickhouse/open-clickhouse.js';
import { judgeDataDirParts } from './data-dir.js';
import type { RawOpenOptions as EngineOpenOptions, RawEngineRegistry } from './engines.js';
import { acquireLease, currentHolder } from './lease.js';
import { RAW_ENGINES } from './raw-engines.js';
import type { RawStore } from './raw-store.js';
import { damageError, REPAIR_HINT, type StoreDamage } from './store-damage.js';

export interface OpenStoresOptions {
  /** The command opening them, shown to any process that has to wait. */
  command: string;
  waitMs: number;
  log: (message: string) => void;
  /** Only run, migrate, demo and repair create a data directory; other commands refuse one without stores. */
  create?: boolean;
  /** Open damaged stores anyway (doctor, repair); otherwise damage found at open is an error naming it. */
  allowDamage?: boolean;
  /** With allowDamage: told what the open found (parts that disagree, deleted tables, broken parts). */
  onDamage?: (damage: StoreDamage[]) => void;
  /** The raw engines to choose from: RAW_ENGINES unless a test registers its own. */
  engines?: RawEngineRegistry;
}

export interface RawOpenOptions extends EngineOpenOptions {
  /** The raw engines to choose from: RAW_ENGINES unless a test registers its own. */
  engines?: RawEngineRegistry;
}

export interface Stores {
  raw: RawStore;
  analytics: AnalyticsStore;
  close(): Promise<void>;
}

/** Opens the configured raw store through the engine registry (the shipped one unless a test passes its own); nothing else constructs a store. */
export async function openRawStore(config: JourneyConfig, options: RawOpenOptions = {}): Promise<RawStore> {
  return (options.engines ?? RAW_ENGINES).get(config.stores.raw.engine, 'stores.raw.engine').open(config, options);
}

/**
 * Derivation by several processes at once must be serialised: two derivers of one user would
 * interleave their analytics rewrites. The embedded analytics store is held by one process for
 * its whole life, so that is serialised already; with a ClickHouse server, each derive takes the
 * `derivation` lease in the raw store.
 */
export function serialiseDerivation<T>(config: JourneyConfig, raw: RawStore, options: OpenStoresOptions, derive: () => Promise<T>): () => Promise<T> {
  if (config.stores.analytics.engine !== 'clickhouse') return derive;
  return async () => {
    const lease = await acquireLease(raw, 'derivation', currentHolder(options.command), options);
    try {
      return await derive();
    } finally {
      await lease.release().catch(() => {}); // unreleased, it expires with its holder
    }
  };
}

export async function openAnalyticsStore(config: JourneyConfig, raw: RawStore, options: OpenStoresOptions): Promise<ClickHouseAnalyticsStore> {
  const analytics = config.stores.analytics;
  if (analytics.engine === 'clickhouse') return openServerAnalytics(analytics);
  const path = join(config.dataDir, 'analytics');
  const existed = existsSync(path);
  const lease = await acquireLease(raw, 'the embedded analytics store', currentHolder(options.command), options);
  let store;
  try {
    store = await openEmbeddedAnalytics(path, () => lease.release(), { migrate: false });
  } catch (error) {
    await lease.release();
    throw error;
  }
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
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}

function hintFor(damage: readonly StoreDamage[]): string {
  if (damage.some((d) => d.kind === 'raw store missing')) return 'restore raw.sqlite from a backup, or run `journeyctl repair --analytics-only` to rebuild analytics from the raw store as it is';
  if (damage.some((d) => d.kind === 'parts disagree'))
    return 'put back the raw.sqlite or analytics/ that belongs to this directory, or run `journeyctl repair --analytics-only` to rebuild analytics from this raw.sqlite';
  return REPAIR_HINT;
}

export async function openStores(config: JourneyConfig, options: OpenStoresOptions): Promise<Stores> {
  const raw = await openRawStore(config, options);
  let analytics: AnalyticsStore;
  try {
    analytics = await openAnalyticsStore(config, raw, options);
  } catch (error) {
    await raw.close();
    throw error;
  }
  return {
    raw,
    analytics,
    async close() {
      await analytics.close();
      await raw.close();
    },
  };
}
