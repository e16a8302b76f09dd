import { UsageError } from '../../errors.js';
import type { AnalyticsDamage, AnalyticsStore, CheckMeasures, PipelineFactsMirror, ReportAggregates } from '../analytics-store.js';
import { type BigQueryConnectionOptions, type BigQueryContext, createBigQueryContext } from './bigquery-connection.js';
import { bigQueryDerivedReader } from './bigquery-derived-reader.js';
import { bigQueryDerivedWrites } from './bigquery-derived-writes.js';
import { bigQueryDamage, migrateBigQuery } from './bigquery-schema.js';

/** The analytics store over BigQuery, answering the same damage questions as the other engines. */
export type BigQueryAnalyticsStore = AnalyticsStore & AnalyticsDamage;

/**
 * The analytics tables in a BigQuery dataset, through @google-cloud/bigquery: one part per port
 * (bigquery-<concern>.ts) over one shared context, as the ClickHouse adapter is assembled.
 */
export function createBigQueryAnalyticsStore(options: BigQueryConnectionOptions, streamPageRows?: number): BigQueryAnalyticsStore {
  const ctx = createBigQueryContext(options, streamPageRows);
  return {
    engine: 'bigquery',
    migrate: () => migrateBigQuery(ctx),
    ...bigQueryDerivedWrites(ctx),
    ...bigQueryDerivedReader(ctx),
    ...notYet(ctx),
    ...bigQueryDamage(ctx),
    async close() {
      // The client holds no connection of its own (HTTP requests, each authenticated).
    },
  };
}

/** Report aggregates, the pipeline-facts mirror and check measures on BigQuery: bigquery-report.ts and bigquery-check-measures.ts replace these. */
function notYet(_ctx: BigQueryContext): ReportAggregates & PipelineFactsMirror & CheckMeasures {
  const missing = (what: string) => async (): Promise<never> => {
    throw new UsageError(`${what} is not supported on the BigQuery analytics store yet`, { hint: 'use stores.analytics.engine chdb or clickhouse for it' });
  };
  return {
    report: missing('report'),
    sessionShape: missing('the session shape of the HTML report'),
    sampleSessions: missing('sample sessions of the HTML report'),
    publishPipelineFacts: missing('publishing pipeline facts'),
    dailyCounts: missing('the row_count check'),
    newestEventTime: missing('the freshness check'),
    propertyProfile: missing('property checks'),
    flagShare: missing('the flagged_share check'),
    sessionPlacement: missing('the reconcile check'),
    queryRows: missing('the sql check'),
    storeCheckFailures: missing('check --store-failures'),
  };
}
