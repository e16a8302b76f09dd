import type { BigQueryAnalyticsConfig } from '../../config/bigquery-config.js';
import type { JourneyConfig } from '../../config/config.js';
import { isJourneyError } from '../../errors.js';
import type { AnalyticsEngineSpec } from '../engines.js';
import { healthRow as row } from '../raw-engines.js';
import type { BigQueryAnalyticsStore } from './bigquery-analytics-store.js';

const section = (config: JourneyConfig) => config.stores.analytics as BigQueryAnalyticsConfig;

/** Where the store is, as doctor and messages show it. */
export function bigQueryLocation(analytics: BigQueryAnalyticsConfig): string {
  return `bigquery://${analytics.project}/${analytics.dataset} (${analytics.location}${analytics.emulatorHost ? `, emulator at ${analytics.emulatorHost}` : ''})`;
}

// The client library loads only when BigQuery is used: ~0.4 s of every other command's start-up.
const loadStore = () => import('./bigquery-analytics-store.js');

/** The store of the config's section, not yet migrated. */
async function createStore(analytics: BigQueryAnalyticsConfig, streamPageRows?: number): Promise<BigQueryAnalyticsStore> {
  const { project, dataset, location, maxBytesBilled, emulatorHost } = analytics;
  return (await loadStore()).createBigQueryAnalyticsStore({ project, dataset, location, maxBytesBilled, emulatorHost }, streamPageRows);
}

/** Opens the store and creates its dataset and tables when missing. */
export async function openBigQueryAnalytics(analytics: BigQueryAnalyticsConfig, options: { streamPageRows?: number } = {}): Promise<BigQueryAnalyticsStore> {
  const store = await createStore(analytics, options.streamPageRows);
  await store.migrate();
  return store;
}

/** `stores.analytics.engine: bigquery`: a dataset in Google BigQuery (or an emulator speaking its REST API). */
export const bigqueryEngine: AnalyticsEngineSpec = {
  name: 'bigquery',
  open: async (config) => openBigQueryAnalytics(section(config)),
  admin(config) {
    const analytics = section(config);
    const location = bigQueryLocation(analytics);
    const store = () => createStore(analytics);
    return {
      engine: 'bigquery',
      location,
      label: 'bigquery',
      exclusive: false,
      async migrate() {
        const opened = await store();
        await opened.migrate();
        return `dataset ${analytics.project}.${analytics.dataset} and ${opened.expectedTables().length} tables ready (${analytics.location})`;
      },
      async health() {
        try {
          const opened = await store();
          const existing = await opened.existingTables();
          const missing = opened.expectedTables().filter((name) => !existing.includes(name));
          return [
            row('reachable', 'ok', `BigQuery ${location}`),
            missing.length === 0 ? row('tables', 'ok', 'all present') : row('tables', 'fail', `missing in ${analytics.dataset}: ${missing.join(', ')}`, 'run journeyctl migrate'),
          ];
        } catch (error) {
          return [
            row(
              'reachable',
              'fail',
              isJourneyError(error) ? error.message : String(error),
              isJourneyError(error) && error.hint ? error.hint : 'check the project, dataset and credentials (gcloud auth application-default login, or Workload Identity)',
            ),
          ];
        }
      },
    };
  },
};
