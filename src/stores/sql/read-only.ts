/**
 * Checks only read: a custom check query (the `sql` check type) must start with SELECT or WITH,
 * leading comments aside, on every engine. The engine-specific guards come on top (ClickHouse: one
 * statement per request; BigQuery: the query is wrapped in a subquery, so no script runs).
 */
export function isReadOnlyQuery(sql: string): boolean {
  return /^\s*(\(\s*)?(SELECT|WITH)\b/i.test(sql.replace(/^\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/)*/g, ''));
}
