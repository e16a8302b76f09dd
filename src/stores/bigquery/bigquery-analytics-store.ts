import type { AnalyticsDamage, AnalyticsStore } from '../analytics-store.js';
import type { QueryCosts } from '../ports/query-costs.js';
import { bigQueryCheckMeasures } from './bigquery-check-measures.js';
import { type BigQueryConnectionOptions, createBigQueryContext } from './bigquery-connection.js';
import { createCostGuard } from './bigquery-cost.js';
import { bigQueryDerivedReader } from './bigquery-derived-reader.js';
import { bigQueryDerivedWrites } from './bigquery-derived-writes.js';
import { bigQueryPipelineFacts, bigQueryReportAggregates } from './bigquery-report.js';
import { BQ_TABLES, bigQueryDamage, migrateBigQuery, stagingName } from './bigquery-schema.js';

/** The analytics store over BigQuery, answering the same damage questions as the other engines, and what its queries cost. */
export type BigQueryAnalyticsStore = AnalyticsStore & AnalyticsDamage & QueryCosts;

/**
 * The analytics tables in a BigQuery dataset, through @google-cloud/bigquery: one part per port
 * (bigquery-<concern>.ts) over one shared context, as the ClickHouse adapter is assembled.
 */
export function createBigQueryAnalyticsStore(options: BigQueryConnectionOptions, streamPageRows?: number): BigQueryAnalyticsStore {
  const ctx = createBigQueryContext(options, streamPageRows);
  // Dry runs and the bytes limit around the report's and the check measures' queries (bigquery-cost.ts).
  const guard = createCostGuard(
    ctx,
    Object.values(BQ_TABLES).flatMap((spec) => [spec, { ...spec, name: stagingName(spec) }]),
  );
  return {
    engine: 'bigquery',
    migrate: () => migrateBigQuery(ctx),
    ...bigQueryDerivedWrites(ctx),
    ...bigQueryDerivedReader(ctx),
    ...bigQueryReportAggregates(ctx, guard),
    ...bigQueryPipelineFacts(ctx),
    ...bigQueryCheckMeasures(ctx, guard),
    ...guard.costs,
    ...bigQueryDamage(ctx),
    async close() {
      // The client holds no connection of its own (HTTP requests, each authenticated).
    },
  };
}
