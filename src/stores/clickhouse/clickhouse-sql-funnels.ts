import type { FunnelDefinition } from '../../journeys/funnels.js';
import type { SqlDerivation, SqlFunnelOutcome } from '../ports/sql-derivation.js';
import type { ClickHouseContext } from './clickhouse-connection.js';
import { funnelOutcomesSql, funnelStatements, sqlFunnelsSchema, truncateSqlFunnels, unreadablePropertiesStatement } from './queries/sql-funnels.js';

/** The funnels of the SQL derivation (queries/sql-funnels.ts), over the placed events its place() left; parameters bound, never spliced. */
export function clickHouseSqlFunnels(ctx: ClickHouseContext): Pick<SqlDerivation, 'placeFunnels' | 'funnelOutcomes'> {
  const { db } = ctx;
  const command = async (query: string, params: Record<string, unknown>, what: string): Promise<void> => {
    try {
      await ctx.client.command({ query, query_params: params });
    } catch (error) {
      throw ctx.failure(what, error);
    }
  };
  return {
    async placeFunnels(funnels: readonly FunnelDefinition[]): Promise<boolean> {
      const statements = funnelStatements(db, funnels);
      if (statements === null) return false;
      const unreadable = unreadablePropertiesStatement(db, funnels);
      for await (const row of ctx.select(unreadable.query, unreadable.params)) if (Number(row.n) > 0) return false;
      for (const statement of [...sqlFunnelsSchema(db), ...truncateSqlFunnels(db)]) await ctx.run(statement, 'prepare the SQL funnel tables');
      for (const statement of statements) await command(statement.query, statement.params, 'compute funnels in SQL');
      return true;
    },

    async *funnelOutcomes(users: readonly string[]): AsyncIterable<SqlFunnelOutcome> {
      for await (const row of ctx.select(funnelOutcomesSql(db), { users: [...users] })) {
        const stepsReached = Number(row.steps_reached);
        const totalSteps = Number(row.total_steps);
        yield {
          scope: row.scope as SqlFunnelOutcome['scope'],
          subjectId: row.subject_id as string,
          userId: row.user_id as string,
          funnel: row.funnel as string,
          startedAt: Number(row.started_at),
          stepsReached,
          totalSteps,
          converted: stepsReached === totalSteps,
          evidence: row.evidence as string[],
          funnelIndex: Number(row.funnel_index),
        };
      }
    },
  };
}
