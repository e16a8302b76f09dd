import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

/**
 * A target of grafana-clickhouse-datasource (v4) in SQL-editor mode: the foundation SDK ships no
 * ClickHouse query type, so this is the small typed one the SDK's README describes for a
 * third-party plugin. Fields as the plugin's CHSqlQuery has them (src/types/sql.ts).
 */
export interface ClickHouseQuery {
  refId?: string;
  hide?: boolean;
  datasource?: DataSourceRef;
  editorType: 'sql';
  /** table | timeseries: how the plugin shapes the frame (time series long frames become wide). */
  queryType: 'table' | 'timeseries';
  /** The plugin's Format enum: 0 time series, 1 table. */
  format: 0 | 1;
  rawSql: string;
  _implementsDataqueryVariant(): void;
}

export class ClickHouseQueryBuilder implements Builder<Dataquery> {
  private readonly internal: ClickHouseQuery;

  constructor(rawSql: string) {
    this.internal = { editorType: 'sql', queryType: 'table', format: 1, rawSql, _implementsDataqueryVariant() {} };
  }

  build(): ClickHouseQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  datasource(datasource: DataSourceRef): this {
    this.internal.datasource = datasource;
    return this;
  }

  /** Rows with a `time` column, one series per value column (and per string column's value). */
  timeSeries(): this {
    this.internal.queryType = 'timeseries';
    this.internal.format = 0;
    return this;
  }

  table(): this {
    this.internal.queryType = 'table';
    this.internal.format = 1;
    return this;
  }
}
