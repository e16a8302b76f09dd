// `stores.analytics` with `engine: bigquery`: where the BigQuery analytics store lives, and the bytes cap of its queries.
import type { SectionReader } from './section-reader.js';

export interface BigQueryAnalyticsConfig {
  engine: 'bigquery';
  /** The GCP project the dataset is in (and that runs and pays for the jobs). */
  project: string;
  dataset: string;
  /** The dataset's location (US, EU, europe-west3, …): jobs run there. */
  location: string;
  /** BigQuery refuses any query that would bill more bytes than this; null: no cap. */
  maxBytesBilled: number | null;
  /** host:port of a BigQuery emulator (BIGQUERY_EMULATOR_HOST), or null for Google's service. */
  emulatorHost: string | null;
  registered?: never;
}

/** Flags and environment: --bigquery-dataset [PROJECT.]DATASET (selects the engine), JOURNEY_BIGQUERY_*, BIGQUERY_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT. */
export interface BigQueryOverrides {
  /** DATASET or PROJECT.DATASET; given, it selects engine bigquery as --clickhouse-url selects clickhouse. */
  dataset?: string | undefined;
  location?: string | undefined;
  /** Bytes, as text (a flag or env value). */
  maxBytesBilled?: string | undefined;
  emulatorHost?: string | undefined;
  /** GOOGLE_CLOUD_PROJECT: the project when neither the file nor PROJECT.DATASET names one. */
  ambientProject?: string | undefined;
}

export const DEFAULT_BIGQUERY_DATASET = 'journeyctl';
export const DEFAULT_BIGQUERY_LOCATION = 'US';

const PROJECT_ID = /^[a-z][a-z0-9.:-]{0,126}[a-z0-9]$/;
const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;

/** Reads the BigQuery fields of `stores.analytics` with their flag/env overrides. */
export function readBigQueryAnalytics(reader: SectionReader, doc: Record<string, unknown>, overrides: BigQueryOverrides): BigQueryAnalyticsConfig {
  const qualified = overrides.dataset === undefined ? null : /^(.+)\.([^.]+)$/.exec(overrides.dataset);
  const dataset = qualified ? qualified[2]! : (overrides.dataset ?? reader.string(doc.dataset, 'stores.analytics.dataset', DEFAULT_BIGQUERY_DATASET));
  const project = qualified?.[1] ?? reader.optionalString(doc.project, 'stores.analytics.project') ?? (overrides.ambientProject || undefined);
  if (project === undefined) reader.fail('stores.analytics.engine is bigquery but no project is set (stores.analytics.project, --bigquery-dataset PROJECT.DATASET or GOOGLE_CLOUD_PROJECT)');
  else if (!PROJECT_ID.test(project)) reader.fail(`stores.analytics.project: "${project}" is not a GCP project id`);
  if (!DATASET_ID.test(dataset)) reader.fail(`stores.analytics.dataset: "${dataset}" is not a BigQuery dataset id (letters, digits and underscores)`);
  let maxBytesBilled: number | null = doc.max_bytes_billed === undefined || doc.max_bytes_billed === null ? null : reader.positiveInteger(doc.max_bytes_billed, 'stores.analytics.max_bytes_billed', 1);
  if (overrides.maxBytesBilled !== undefined) {
    const bytes = Number(overrides.maxBytesBilled);
    if (!Number.isSafeInteger(bytes) || bytes <= 0) reader.fail(`--max-bytes-billed must be a positive number of bytes (got "${overrides.maxBytesBilled}")`);
    else maxBytesBilled = bytes;
  }
  return {
    engine: 'bigquery',
    project: project ?? '',
    dataset,
    location: overrides.location ?? reader.string(doc.location, 'stores.analytics.location', DEFAULT_BIGQUERY_LOCATION),
    maxBytesBilled,
    emulatorHost: overrides.emulatorHost?.trim() || null,
  };
}
