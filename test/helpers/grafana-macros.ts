/**
 * What Grafana and grafana-clickhouse-datasource do to a panel's rawSql before ClickHouse sees it,
 * for tests that run the panels' SQL against chdb.
 *
 * 1. Grafana interpolates template variables: `${name:singlequote}` renders each selected value
 *    as a quoted SQL string, comma-separated; `${name:raw}`, `${name}` and `$name` the value as is.
 * 2. The plugin expands its macros (pkg/macros/macros.go, through sqlds): a macro is
 *    `$__name` optionally followed by `(args)`, args split on commas and trimmed:
 *    - `$__timeFilter(c)`     → `c >= toDateTime(<from s>) AND c <= toDateTime(<to s>)`
 *    - `$__timeFilter_ms(c)`  → the same with `fromUnixTimestamp64Milli(<ms>)`
 *    - `$__dateFilter(c)`     → `c >= toDate('YYYY-MM-DD') AND c <= toDate('YYYY-MM-DD')`
 *    - `$__fromTime` / `$__toTime` → `toDateTime(<s>)`; `_ms` variants → `fromUnixTimestamp64Milli(<ms>)`
 *    - `$__timeInterval(c)`   → `toStartOfInterval(toDateTime(c), INTERVAL <max(interval s, 1)> second)`
 *    - `$__timeInterval_ms(c)`→ `toStartOfInterval(toDateTime64(c, 3), INTERVAL <max(ms, 1)> millisecond)`
 *    - `$__interval_s`        → `<max(interval s, 1)>`
 *    Seconds are Go's time.Unix(): truncated. Longer names are expanded first, so `$__timeFilter`
 *    never eats the start of `$__timeFilter_ms`.
 */
export interface GrafanaQueryContext {
  from: number;
  to: number;
  intervalMs: number;
  variables: Record<string, readonly string[]>;
}

export function interpolateVariables(sql: string, variables: GrafanaQueryContext['variables']): string {
  const value = (name: string, format: string | undefined) => {
    const values = variables[name];
    if (values === undefined) throw new Error(`no value for the variable ${name}`);
    if (format === 'singlequote') return values.map((v) => `'${v.replaceAll("'", "\\'")}'`).join(',');
    if (format === undefined || format === 'raw') return values.join(',');
    throw new Error(`format ${format} not modelled`);
  };
  return sql.replace(/\$\{(\w+)(?::(\w+))?\}/g, (_, name: string, format?: string) => value(name, format)).replace(/\$(?!__)(\w+)/g, (_, name: string) => value(name, undefined));
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function expandMacros(sql: string, context: Omit<GrafanaQueryContext, 'variables'>): string {
  const intervalS = Math.max(Math.floor(context.intervalMs / 1000), 1);
  const one = (args: string[], name: string) => {
    if (args.length !== 1) throw new Error(`$__${name}: expected 1 argument, received ${args.length}`);
    return args[0]!;
  };
  const macros: Record<string, (args: string[]) => string> = {
    fromTime: () => `toDateTime(${seconds(context.from)})`,
    toTime: () => `toDateTime(${seconds(context.to)})`,
    fromTime_ms: () => `fromUnixTimestamp64Milli(${context.from})`,
    toTime_ms: () => `fromUnixTimestamp64Milli(${context.to})`,
    timeFilter: (a) => `${one(a, 'timeFilter')} >= toDateTime(${seconds(context.from)}) AND ${a[0]} <= toDateTime(${seconds(context.to)})`,
    timeFilter_ms: (a) => `${one(a, 'timeFilter_ms')} >= fromUnixTimestamp64Milli(${context.from}) AND ${a[0]} <= fromUnixTimestamp64Milli(${context.to})`,
    dateFilter: (a) => `${one(a, 'dateFilter')} >= toDate('${day(context.from)}') AND ${a[0]} <= toDate('${day(context.to)}')`,
    timeInterval: (a) => `toStartOfInterval(toDateTime(${one(a, 'timeInterval')}), INTERVAL ${intervalS} second)`,
    timeInterval_ms: (a) => `toStartOfInterval(toDateTime64(${one(a, 'timeInterval_ms')}, 3), INTERVAL ${Math.max(context.intervalMs, 1)} millisecond)`,
    interval_s: () => `${intervalS}`,
  };
  let out = sql;
  for (const name of Object.keys(macros).sort((a, b) => b.length - a.length)) {
    out = out.replace(new RegExp(`\\$__${name}(?![A-Za-z0-9_])(?:\\((.*?)\\))?`, 'g'), (_, args?: string) => macros[name]!(args === undefined ? [] : args.split(',').map((s) => s.trim())));
  }
  if (/\$__\w+/.test(out)) throw new Error(`an unexpanded macro is left: ${out.match(/\$__\w+/)![0]}`);
  return out;
}

export function grafanaSql(sql: string, context: GrafanaQueryContext): string {
  return expandMacros(interpolateVariables(sql, context.variables), context);
}
