import { describe, expect, it } from 'vitest';
import { resolveConfig, validateConfigDocument } from './config.js';

describe('bigquery analytics config', () => {
  it('reads stores.analytics for engine bigquery, with the dataset and location defaults and no bytes cap', () => {
    const result = validateConfigDocument({ stores: { analytics: { engine: 'bigquery', project: 'acme-analytics' } } }, 'f.yaml');
    expect(result.ok && result.config.stores.analytics).toEqual({ engine: 'bigquery', project: 'acme-analytics', dataset: 'journeyctl', location: 'US', maxBytesBilled: null, emulatorHost: null });
    const full = validateConfigDocument({ stores: { analytics: { engine: 'bigquery', project: 'acme', dataset: 'journeys_eu', location: 'EU', max_bytes_billed: 10_000_000_000 } } }, 'f.yaml');
    expect(full.ok && full.config.stores.analytics).toMatchObject({ project: 'acme', dataset: 'journeys_eu', location: 'EU', maxBytesBilled: 10_000_000_000 });
  });

  it('is selected by --bigquery-dataset or JOURNEY_BIGQUERY_DATASET (PROJECT.DATASET), as --clickhouse-url selects clickhouse; env and flags win over the file', () => {
    const fromEnv = resolveConfig(
      {},
      { JOURNEY_BIGQUERY_DATASET: 'p-1.ds', JOURNEY_BIGQUERY_LOCATION: 'europe-west3', BIGQUERY_EMULATOR_HOST: '127.0.0.1:9050', JOURNEY_BIGQUERY_MAX_BYTES_BILLED: '1000' },
    );
    expect(fromEnv.ok && fromEnv.config.stores.analytics).toEqual({
      engine: 'bigquery',
      project: 'p-1',
      dataset: 'ds',
      location: 'europe-west3',
      maxBytesBilled: 1000,
      emulatorHost: '127.0.0.1:9050',
    });
    const ambient = resolveConfig({ bigquery: { dataset: 'only_dataset' } }, { GOOGLE_CLOUD_PROJECT: 'ambient-project' });
    expect(ambient.ok && ambient.config.stores.analytics).toMatchObject({ engine: 'bigquery', project: 'ambient-project', dataset: 'only_dataset' });
  });

  it('refuses a BigQuery store without a project, and names that are not BigQuery ids', () => {
    expect(validateConfigDocument({ stores: { analytics: { engine: 'bigquery' } } }, 'f.yaml')).toEqual({
      ok: false,
      errors: ['f.yaml: stores.analytics.engine is bigquery but no project is set (stores.analytics.project, --bigquery-dataset PROJECT.DATASET or GOOGLE_CLOUD_PROJECT)'],
    });
    const bad = validateConfigDocument({ stores: { analytics: { engine: 'bigquery', project: 'Acme Corp', dataset: 'a-b' } } }, 'f.yaml');
    expect(bad.ok ? [] : bad.errors).toEqual([
      'f.yaml: stores.analytics.project: "Acme Corp" is not a GCP project id',
      'f.yaml: stores.analytics.dataset: "a-b" is not a BigQuery dataset id (letters, digits and underscores)',
    ]);
    const cap = resolveConfig({ bigquery: { dataset: 'p-1.ds', maxBytesBilled: 'lots' } }, {});
    expect(cap.ok ? [] : cap.errors).toEqual(['defaults: --max-bytes-billed must be a positive number of bytes (got "lots")']);
  });
});
