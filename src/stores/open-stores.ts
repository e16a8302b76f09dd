import { join } from 'node:path';
import type { JourneyConfig } from '../config/config.js';
import type { AnalyticsStore } from './analytics-store.js';
import { openEmbeddedAnalytics, openServerAnalytics } from './clickhouse/open-clickhouse.js';
import { acquireLease, currentHolder } from './lease.js';
import { databaseInMongoUrl } from './mongo/mongo-connection.js';
import { MongoRawStore } from './mongo/mongo-raw-store.js';
import type { RawStore } from './raw-store.js';
import { SqliteRawStore } from './sqlite/sqlite-raw-store.js';

export interface OpenStoresOptions {
  /** The command opening them, shown to any process that has to wait. */
  command: string;
  waitMs: number;
  log: (message: string) => void;
}

export interface Stores {
  raw: RawStore;
  analytics: AnalyticsStore;
  close(): Promise<void>;
}

/** The one registry from config to adapters; nothing else constructs a store. */
export async function openRawStore(config: JourneyConfig): Promise<RawStore> {
  const raw = config.stores.raw;
  switch (raw.engine) {
    case 'sqlite':
      return SqliteRawStore.open(join(config.dataDir, 'raw.sqlite'));
    case 'mongodb':
      // The database named in the connection string's path wins over stores.raw.database.
      return MongoRawStore.open({ url: raw.url, database: databaseInMongoUrl(raw.url) ?? raw.database });
  }
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

export async function openAnalyticsStore(config: JourneyConfig, raw: RawStore, options: OpenStoresOptions): Promise<AnalyticsStore> {
  const analytics = config.stores.analytics;
  if (analytics.engine === 'clickhouse') return openServerAnalytics(analytics);
  const lease = await acquireLease(raw, 'the embedded analytics store', currentHolder(options.command), options);
  try {
    return await openEmbeddedAnalytics(join(config.dataDir, 'analytics'), () => lease.release());
  } catch (error) {
    await lease.release();
    throw error;
  }
}

export async function openStores(config: JourneyConfig, options: OpenStoresOptions): Promise<Stores> {
  const raw = await openRawStore(config);
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
