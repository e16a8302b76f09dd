import { UsageError } from '../../errors.js';
import { defineCheckKind } from './kind.js';

export const sql = defineCheckKind({
  type: 'sql',
  summary: 'rows returned by a query on the analytics store (query)',
  keys: ['query'],
  anyRowFails: true,
  parse: (_entry, { text }) => ({ query: text('query') }),
  async measure(check, ctx) {
    const range = { from: ctx.range.from ?? 0, to: ctx.range.to ?? 253402300799999 };
    let result;
    try {
      result = await (await ctx.analytics()).queryRows(check.query, range, ctx.sampleSize);
    } catch (error) {
      if (error instanceof UsageError)
        throw new UsageError(`check ${check.name}: ${error.message}`, { hint: 'the query may use {from:DateTime64(3)}, {to:DateTime64(3)}, {from_ms:Int64}, {to_ms:Int64} and {db:Identifier}' });
      throw error;
    }
    return { unit: 'rows', groups: [{ key: '', value: result.total, rows: result.rows }] };
  },
});
