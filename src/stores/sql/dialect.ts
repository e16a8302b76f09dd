/**
 * Where the shared query definitions run. The same figure serves `journeyctl report` (and the
 * HTML report), which binds its range as query parameters, and the Grafana dashboards, where the
 * datasource plugin expands its macros and Grafana its template variables. A dialect supplies the
 * pieces that differ by where the SQL runs; a definition renders its SQL per engine (definitions.ts).
 */
export type SqlEngine = 'clickhouse' | 'bigquery';

export interface SqlDialect {
  /** Which rendering of a definition this dialect takes. */
  readonly engine: SqlEngine;
  /** A table of the analytics database, qualified. */
  table(name: string): string;
  /** A condition keeping rows whose `column` lies in the range being looked at. */
  timeFilter(column: string): string;
  /** The start of the time bucket `column` falls in (Grafana: the panel's interval). */
  timeBucket(column: string): string;
  /** The bucket width of timeBucket in seconds, as SQL (Grafana: the plugin's `$__interval_s`). */
  readonly intervalSeconds: string;
  /** True when flagged sessions count in journey figures. */
  readonly includeFlagged: string;
  /** A condition on a funnel-name column (Grafana: the `funnel` variable; report: every funnel). */
  funnelFilter(column: string): string;
  /** A condition on an app-version column (Grafana: the `app_version` variable; report: every version). */
  appVersionFilter(column: string): string;
  /** The same on an array of app versions (a session's): any of them matches. */
  appVersionsFilter(arrayColumn: string): string;
}

/** Parameters the ClickHouse report dialect's SQL binds: `{from:Int64}`, `{to:Int64}` (epoch ms, to exclusive), `{include:UInt8}`. */
export function clickHouseReportDialect(database: string): SqlDialect {
  return {
    engine: 'clickhouse',
    table: (name) => `${database}.${name}`,
    timeFilter: (column) => `${column} >= fromUnixTimestamp64Milli({from:Int64}) AND ${column} < fromUnixTimestamp64Milli({to:Int64})`,
    timeBucket: (column) => `toStartOfDay(${column})`,
    intervalSeconds: '86400',
    includeFlagged: '{include:UInt8} = 1',
    funnelFilter: () => '1',
    appVersionFilter: () => '1',
    appVersionsFilter: () => '1',
  };
}

/**
 * Parameters the BigQuery report dialect's SQL binds (named): `@from`, `@to` (INT64 epoch ms, to
 * exclusive), `@include` (INT64 1 or 0). `table` qualifies a table name (project and dataset, quoted).
 */
export function bigQueryReportDialect(table: (name: string) => string): SqlDialect {
  return {
    engine: 'bigquery',
    table,
    timeFilter: (column) => `${column} >= TIMESTAMP_MILLIS(@from) AND ${column} < TIMESTAMP_MILLIS(@to)`,
    timeBucket: (column) => `TIMESTAMP_TRUNC(${column}, DAY)`,
    intervalSeconds: '86400',
    includeFlagged: '@include = 1',
    funnelFilter: () => 'TRUE',
    appVersionFilter: () => 'TRUE',
    appVersionsFilter: () => 'TRUE',
  };
}

/** The value of the Grafana variables' "All" option: one token instead of every value spelled out. */
export const ALL_VALUE = '__all';

/**
 * Grafana with grafana-clickhouse-datasource: the plugin's macros for time, Grafana's variables
 * (`${name:singlequote}` renders a selection as a quoted list; "All" renders `'__all'`).
 */
export function clickHouseGrafanaDialect(database: string): SqlDialect {
  const variable = (name: string, column: string) => `('${ALL_VALUE}' IN (\${${name}:singlequote}) OR ${column} IN (\${${name}:singlequote}))`;
  return {
    engine: 'clickhouse',
    table: (name) => `${database}.${name}`,
    timeFilter: (column) => `$__timeFilter(${column})`,
    timeBucket: (column) => `$__timeInterval(${column})`,
    intervalSeconds: '$__interval_s',
    includeFlagged: `\${include_flagged:raw} = 1`,
    funnelFilter: (column) => variable('funnel', column),
    appVersionFilter: (column) => variable('app_version', column),
    appVersionsFilter: (column) => `('${ALL_VALUE}' IN (\${app_version:singlequote}) OR hasAny(${column}, [\${app_version:singlequote}]))`,
  };
}
