import { UsageError } from '../../errors.js';
import { defineCheckKind } from './kind.js';

/** What each engine binds in a check's query (its own SQL): the hint of a failed query. */
const BOUND = {
  clickhouse: 'the query may use {from:DateTime64(3)}, {to:DateTime64(3)}, {from_ms:Int64}, {to_ms:Int64} and {db:Identifier}',
  bigquery: 'bigquery_query is GoogleSQL: tables unqualified (the analytics dataset), @from and @to TIMESTAMP, @from_ms and @to_ms INT64',
};

export const sql = defineCheckKind({
  type: 'sql',
  summary: 'rows returned by a query on the analytics store (query: ClickHouse SQL; bigquery_query: the same in GoogleSQL)',
  keys: ['query', 'bigquery_query'],
  anyRowFails: true,
  parse: (entry, { text, fail }) => {
    const bigquery = entry.bigquery_query;
    if (bigquery !== undefined && (typeof bigquery !== 'string' || bigquery.trim() === '')) fail('bigquery_query must be a non-empty string');
    return { query: text('query'), bigqueryQuery: typeof bigquery === 'string' && bigquery.trim() !== '' ? bigquery : null };
  },
  async measure(check, ctx) {
    const range = { from: ctx.range.from ?? 0, to: ctx.range.to ?? 253402300799999 };
    const store = await ctx.analytics();
    // SQL is the engine's own: BigQuery takes the check's GoogleSQL twin.
    const onBigQuery = store.engine === 'bigquery';
    const query = onBigQuery ? check.bigqueryQuery : check.query;
    if (query === null) throw new UsageError(`check ${check.name}: its query is ClickHouse SQL and it has no bigquery_query for the BigQuery analytics store`, { hint: BOUND.bigquery });
    let result;
    try {
      result = await store.queryRows(query, range, ctx.sampleSize);
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(`check ${check.name}: ${error.message}`, { hint: onBigQuery ? BOUND.bigquery : BOUND.clickhouse });
      throw error;
    }
    return { unit: 'rows', groups: [{ key: '', value: result.total, rows: result.rows }] };
  },
});
