import type { ClickHouseClient } from '@clickhouse/client';
import type { AnalyticsDamage, AnalyticsStore } from '../analytics-store.js';
import { clickHouseCheckMeasures } from './clickhouse-check-measures.js';
import { createClickHouseContext } from './clickhouse-connection.js';
import { clickHouseDamage } from './clickhouse-damage.js';
import { clickHouseDerivedReader } from './clickhouse-derived-reader.js';
import { clickHouseDerivedWrites } from './clickhouse-derived-writes.js';
import { clickHousePipelineFacts, clickHouseReportAggregates } from './clickhouse-report.js';
import { clickHouseSqlDerivation } from './clickhouse-sql-derivation.js';
import { schemaStatements } from './schema.js';
import type { SqlDerivation } from '../ports/sql-derivation.js';

/** The analytics store over ClickHouse, with the damage detection an engine with files on disk has. */
export type ClickHouseAnalyticsStore = AnalyticsStore & AnalyticsDamage & { readonly sqlDerivation: SqlDerivation };

/**
 * The analytics tables in ClickHouse SQL, through @clickhouse/client: one part per port
 * (clickhouse-<concern>.ts) over one shared context. The same parts serve chdb (the client gets
 * chdb's in-process connection) and a ClickHouse server (HTTP), so the embedded default and
 * production run one code path.
 */
export function createClickHouseAnalyticsStore(
  client: ClickHouseClient,
  database: string,
  engine: string,
  /** Lets go of the client: closes it unless the client is shared (see embedded-engine.ts). */
  close: () => Promise<void> = () => client.close(),
  /** Rows per page of a streamed range (see clickhouse-derived-reader.ts). */
  streamPageRows = 50_000,
  /** Where derived rows are spooled for an engine in this process to read (chdb owned here); null: in the request. */
  spoolDir: string | null = null,
): ClickHouseAnalyticsStore {
  const ctx = createClickHouseContext(client, database, engine, streamPageRows, spoolDir);
  return {
    engine,
    async migrate() {
      for (const statement of schemaStatements(ctx.database)) {
        try {
          await client.command({ query: statement });
        } catch (error) {
          throw ctx.failure('create the analytics tables', error);
        }
      }
    },
    ...clickHouseDerivedWrites(ctx),
    ...clickHouseDerivedReader(ctx),
    ...clickHouseReportAggregates(ctx),
    ...clickHousePipelineFacts(ctx),
    ...clickHouseCheckMeasures(ctx),
    ...clickHouseDamage(ctx),
    sqlDerivation: clickHouseSqlDerivation(ctx),
    close,
  };
}
