import { Readable } from 'node:stream';
import { BigQuery, type BigQueryOptions, type Job, type Query, type Table } from '@google-cloud/bigquery';
import { InfrastructureError } from '../../errors.js';
import { limitExceeded } from './bigquery-cost.js';
import type { Row } from '../clickhouse/clickhouse-mappers.js';

export const MAX_TIME = 253402300799999; // 9999-12-31T23:59:59.999Z, the top of TIMESTAMP's range

/** Where the BigQuery analytics store lives (stores.analytics with engine: bigquery). */
export interface BigQueryConnectionOptions {
  project: string;
  dataset: string;
  /** The dataset's location (US, EU, europe-west3, …); jobs run there. */
  location: string;
  /** Every query is refused by BigQuery when it would bill more bytes than this; null: no cap. */
  maxBytesBilled: number | null;
  /** host:port or URL of a BigQuery emulator (BIGQUERY_EMULATOR_HOST); null for Google's service. */
  emulatorHost: string | null;
}

/**
 * What every part of the BigQuery analytics store shares: one client, the dataset, how queries
 * run (named parameters only, every query capped by maxBytesBilled), how rows are loaded (load
 * jobs: free, where streaming inserts are billed) and how failures are reported.
 */
export interface BigQueryContext {
  readonly client: BigQuery;
  readonly engine: 'bigquery';
  readonly project: string;
  readonly dataset: string;
  readonly location: string;
  readonly maxBytesBilled: number | null;
  /** True against an emulator: see `EMULATOR` below, the one place the store treats it differently. */
  readonly emulator: boolean;
  /** Rows per page of a streamed result. */
  readonly streamPageRows: number;
  /** A table of the dataset, qualified and quoted for SQL: `project.dataset.name`. */
  table(name: string): string;
  /** The query options every job runs with: parameters bound by name, location, the bytes cap. */
  queryOptions(query: string, params: Record<string, unknown>): Query;
  /** All rows of a query (small results). */
  rows(query: string, params: Record<string, unknown>, what?: string): Promise<Row[]>;
  /** Rows of a query a page at a time: one job, its result pages read in turn. */
  select(query: string, params: Record<string, unknown>, what?: string, extra?: Partial<Query>): AsyncIterable<Row>;
  /** Runs a DML statement (MERGE, DELETE, …); how many rows it changed. */
  dml(query: string, params: Record<string, unknown>, what: string): Promise<number>;
  /** Appends rows to a table through a load job (NDJSON); `truncate` replaces the table's contents instead. */
  load(table: string, rows: readonly Row[], options?: { truncate?: boolean }): Promise<void>;
  failure(what: string, error: unknown): InfrastructureError;
}

/**
 * Where an emulator needs the client set up differently from Google's service (docs/decisions/0019):
 * the one switch. SQL, jobs and schema are the same for both.
 */
const EMULATOR = {
  /**
   * The emulator takes any request. @google-cloud/bigquery 8.x authenticates every request, even to
   * a custom apiEndpoint: without credentials it probes the GCE metadata server (a
   * MetadataLookupWarning on stderr) and sends requests without headers, on which its multipart
   * upload (a load job's data) fails. An auth client that adds no credentials avoids both.
   */
  authClient: { getRequestHeaders: async () => new Headers() } as unknown as BigQueryOptions['authClient'],
  /** The client takes BIGQUERY_EMULATOR_HOST, when set, as its base URL as it is (no /bigquery/v2): the endpoint's, always. */
  baseUrl: (apiEndpoint: string) => `${apiEndpoint}/bigquery/v2`,
};

const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;
const PROJECT_ID = /^[a-z][a-z0-9.:-]{0,126}[a-z0-9]$/;
const TABLE_ID = /^[A-Za-z0-9_]+$/;

export function createBigQueryContext(options: BigQueryConnectionOptions, streamPageRows = 50_000): BigQueryContext {
  if (!PROJECT_ID.test(options.project)) throw new InfrastructureError(`analytics store (bigquery): ${JSON.stringify(options.project)} is not a project id`);
  if (!DATASET_ID.test(options.dataset)) throw new InfrastructureError(`analytics store (bigquery): ${JSON.stringify(options.dataset)} is not a dataset id (letters, digits, underscores)`);
  const apiEndpoint = options.emulatorHost === null ? null : (/^https?:\/\//.test(options.emulatorHost) ? options.emulatorHost : `http://${options.emulatorHost}`).replace(/\/(bigquery\/v2\/?)?$/, '');
  const client = new BigQuery({ projectId: options.project, location: options.location, ...(apiEndpoint !== null ? { apiEndpoint, authClient: EMULATOR.authClient } : {}) });
  if (apiEndpoint !== null) client.baseUrl = EMULATOR.baseUrl(apiEndpoint);

  const failure = (what: string, error: unknown): InfrastructureError => {
    const refused = limitExceeded(error, what);
    if (refused) return refused;
    const message = firstLine(error);
    return new InfrastructureError(`analytics store (bigquery): cannot ${what}: ${message}`, {
      hint: /bytes billed|bytesBilledLimitExceeded/i.test(message)
        ? 'raise stores.analytics.max_bytes_billed (--max-bytes-billed) or narrow the time range'
        : `check that BigQuery is reachable and the credentials may use dataset ${options.project}.${options.dataset} (journeyctl doctor)`,
      cause: error,
    });
  };

  const table = (name: string): string => {
    if (!TABLE_ID.test(name)) throw new Error(`invalid BigQuery table name ${JSON.stringify(name)}`);
    return `\`${options.project}.${options.dataset}.${name}\``;
  };

  const queryOptions = (query: string, params: Record<string, unknown>): Query => {
    // An empty array has no element to infer its type from: every array parameter here holds strings.
    const types: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(params)) if (Array.isArray(value) && value.length === 0) types[name] = ['STRING'];
    return {
      query,
      params,
      ...(Object.keys(types).length > 0 ? { types } : {}),
      location: options.location,
      useLegacySql: false,
      ...(options.maxBytesBilled !== null ? { maximumBytesBilled: String(options.maxBytesBilled) } : {}),
    };
  };

  const startJob = async (query: string, params: Record<string, unknown>, what: string, extra: Partial<Query> = {}): Promise<Job> => {
    try {
      const [job] = await client.createQueryJob({ ...queryOptions(query, params), ...extra });
      return job;
    } catch (error) {
      throw failure(what, error);
    }
  };

  async function* select(query: string, params: Record<string, unknown>, what = 'query', extra: Partial<Query> = {}): AsyncIterable<Row> {
    const job = await startJob(query, params, what, extra);
    let pageToken: string | undefined;
    do {
      let page: Row[];
      try {
        const [rows, next] = await job.getQueryResults({ maxResults: streamPageRows, autoPaginate: false, ...(pageToken ? { pageToken } : {}) });
        page = rows as Row[];
        pageToken = (next as { pageToken?: string } | null)?.pageToken ?? undefined;
      } catch (error) {
        throw failure(what, error);
      }
      yield* page;
    } while (pageToken);
  }

  return {
    client,
    engine: 'bigquery',
    project: options.project,
    dataset: options.dataset,
    location: options.location,
    maxBytesBilled: options.maxBytesBilled,
    emulator: apiEndpoint !== null,
    streamPageRows,
    table,
    queryOptions,
    select,
    async rows(query, params, what = 'query') {
      const rows: Row[] = [];
      for await (const row of select(query, params, what)) rows.push(row);
      return rows;
    },
    async dml(query, params, what) {
      const job = await startJob(query, params, what);
      try {
        await job.getQueryResults({ maxResults: 0 });
        const [metadata] = await job.getMetadata();
        return Number(metadata.statistics?.query?.numDmlAffectedRows ?? 0);
      } catch (error) {
        throw failure(what, error);
      }
    },
    async load(name, rows, loadOptions = {}) {
      if (rows.length === 0 && !loadOptions.truncate) return;
      try {
        await loadJob(client.dataset(options.dataset).table(name), rows, loadOptions.truncate ? 'WRITE_TRUNCATE' : 'WRITE_APPEND');
      } catch (error) {
        throw failure(`load rows into ${name}`, error);
      }
    },
    failure,
  };
}

/** One load job of NDJSON lines, streamed to the upload; resolves when the job is done. */
async function loadJob(target: Table, rows: readonly Row[], writeDisposition: 'WRITE_APPEND' | 'WRITE_TRUNCATE'): Promise<void> {
  const upload = target.createWriteStream({ sourceFormat: 'NEWLINE_DELIMITED_JSON', writeDisposition });
  const job = await new Promise<Job>((resolve, reject) => {
    upload.once('job', resolve);
    upload.once('error', reject);
    Readable.from(ndjson(rows)).once('error', reject).pipe(upload);
  });
  // A listener on 'complete' makes the job poll its status; a failed job emits 'error'.
  await new Promise<void>((resolve, reject) => {
    job.once('complete', () => resolve());
    job.once('error', reject);
  });
}

function* ndjson(rows: readonly Row[]): Iterable<string> {
  const LINES = 1000;
  for (let start = 0; start < rows.length; start += LINES) {
    yield rows
      .slice(start, start + LINES)
      .map((row) => `${JSON.stringify(row)}\n`)
      .join('');
  }
}

export function firstLine(error: unknown): string {
  return ((error as Error).message ?? String(error)).split('\n')[0]!;
}

/** The bound range of a read: epoch ms, `to` exclusive. */
export function rangeParams(range: { from?: number | undefined; to?: number | undefined }): { from: number; to: number } {
  return { from: range.from ?? 0, to: Math.min(range.to ?? MAX_TIME, MAX_TIME) };
}
