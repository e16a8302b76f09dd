import type { JourneyConfig } from '../config/config.js';
import { ANALYTICS_ENGINES } from './analytics-engines.js';
import type { AnalyticsStore, OpenedAnalyticsStore } from './analytics-store.js';
import type { AnalyticsEngineRegistry, AnalyticsOpenOptions, RawOpenOptions as EngineOpenOptions, RawEngineRegistry } from './engines.js';
import { acquireLease, currentHolder } from './lease.js';
import { RAW_ENGINES } from './raw-engines.js';
import type { RawStore } from './raw-store.js';

export interface OpenStoresOptions extends AnalyticsOpenOptions {
  /** Only run, migrate, demo and repair create a data directory; other commands refuse one without stores. */
  create?: boolean;
  /** Open damaged stores anyway (doctor, repair); otherwise damage found at open is an error naming it. */
  allowDamage?: boolean;
  /** The raw engines to choose from: RAW_ENGINES unless a test registers its own. */
  engines?: RawEngineRegistry;
  /** The analytics engines to choose from: ANALYTICS_ENGINES unless a test registers its own. */
  analyticsEngines?: AnalyticsEngineRegistry;
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

/** The shipped analytics engines several processes can write at once (BigQuery: two MERGEs of one user's rows would interleave). */
const SERIALISED_ENGINES = ['clickhouse', 'chdb', 'bigquery'];

/**
 * Derivation by several processes at once must be serialised: two derivers of one user would
 * interleave their analytics rewrites. With a ClickHouse server, and with embedded chdb (whose
 * holder serves it to processes that connect: fix, reprocess; ADR 0016), and with BigQuery, each
 * derive takes the `derivation` lease in the raw store.
 */
export function serialiseDerivation<T>(config: JourneyConfig, raw: RawStore, options: OpenStoresOptions, derive: () => Promise<T>): () => Promise<T> {
  if (!SERIALISED_ENGINES.includes(config.stores.analytics.engine)) return derive;
  return async () => {
    const lease = await acquireLease(raw, 'derivation', currentHolder(options.command), options);
    try {
      return await derive();
    } finally {
      await lease.release().catch(() => {}); // unreleased, it expires with its holder
    }
  };
}

/** Opens the configured analytics store through the engine registry (ANALYTICS_ENGINES unless a test passes its own). */
export async function openAnalyticsStore(config: JourneyConfig, raw: RawStore, options: OpenStoresOptions): Promise<OpenedAnalyticsStore> {
  return (options.analyticsEngines ?? ANALYTICS_ENGINES).get(config.stores.analytics.engine, 'stores.analytics.engine').open(config, raw, options);
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
