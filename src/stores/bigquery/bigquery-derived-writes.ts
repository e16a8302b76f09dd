import { randomBytes } from 'node:crypto';
import { InfrastructureError } from '../../errors.js';
import { type DayCounts, type DayRebuild, DERIVED_TABLES, derivationOfDay, type DerivedTable, type DerivedWrites, type ReplaceResult, type UserDerivation, utcDay } from '../ports/derived-writes.js';
import { partitionId } from '../clickhouse/clickhouse-connection.js';
import { canonicalJson, eventMapper, findingMapper, funnelMapper, type Row, sessionMapper, withFlagged } from '../clickhouse/clickhouse-mappers.js';
import { TABLES } from '../clickhouse/schema.js';
import type { BigQueryContext } from './bigquery-connection.js';
import { BQ_TABLES, type BigQueryTableSpec, loadRow, selectList, stagingName } from './bigquery-schema.js';

/** Rows of one table per staging load job (some 25 MB of NDJSON events). */
const STAGE_LOAD_ROWS = 50_000;

/** A write table lives an hour at most: one left by a crashed write expires on its own. */
const WRITE_TABLE_TTL_MS = 3_600_000;

const emptyCounts = (): DayCounts => ({ sessions: 0, events: 0, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 });

/** The rows of a derivation, per table. */
function rowsOf(derivation: UserDerivation): Record<DerivedTable, Row[]> {
  return {
    events: derivation.events.map(eventMapper.toRow),
    findings: derivation.findings.map(findingMapper.toRow),
    funnel_outcomes: withFlagged(derivation).map(funnelMapper.toRow),
    sessions: derivation.sessions.map(sessionMapper.toRow),
  };
}

/**
 * Derived rows written per user (diffed against what is stored, the difference merged in) or per
 * day partition (staged, then swapped in by one MERGE per table). Rows travel in load jobs, which
 * are free; streaming inserts would be billed and could not be changed for up to 90 minutes.
 */
export function bigQueryDerivedWrites(ctx: BigQueryContext): DerivedWrites {
  const dataset = () => ctx.client.dataset(ctx.dataset);

  /** Those of `userIds` with at least one row in a derived table. */
  const usersWithRows = async (userIds: readonly string[]): Promise<string[]> => {
    if (userIds.length === 0) return [];
    const union = DERIVED_TABLES.map((table) => `SELECT user_id FROM ${ctx.table(table)} WHERE user_id IN UNNEST(@users)`).join(' UNION ALL ');
    const rows = await ctx.rows(`SELECT DISTINCT user_id FROM (${union})`, { users: [...userIds] }, 'find stored users');
    return rows.map((row) => row.user_id as string);
  };

  /**
   * Applies upserts and deletes (by key) to a table atomically: the rows go to a write table of
   * their own in one load job, then one MERGE changes the table. The user and day filters let
   * BigQuery read only the users' clustered blocks of the partitions involved.
   */
  const mergeChanges = async (spec: BigQueryTableSpec, upserts: readonly Row[], deletes: readonly Row[]): Promise<void> => {
    if (upserts.length === 0 && deletes.length === 0) return;
    const writeTable = `${spec.name}__write_${randomBytes(8).toString('hex')}`;
    const changes: Row[] = [...upserts.map((row) => ({ ...loadRow(spec, row), op: 'upsert' })), ...deletes.map((row) => ({ ...loadRow(spec, row), op: 'delete' }))];
    try {
      await dataset().createTable(writeTable, { schema: { fields: [...spec.fields, { name: 'op', type: 'STRING', mode: 'REQUIRED' }] }, expirationTime: String(Date.now() + WRITE_TABLE_TTL_MS) });
    } catch (error) {
      throw ctx.failure(`create a write table for ${spec.name}`, error);
    }
    try {
      await ctx.load(writeTable, changes);
      const users = [...new Set(changes.map((row) => row.user_id as string))];
      // The rows' time span: the partitions a match can be in (the key holds the partition time). Bounds, not
      // a list of days, so the condition holds no subquery (BigQuery restricts them in a MERGE's ON).
      const span = { from: Number.POSITIVE_INFINITY, to: 0 };
      for (const row of changes) {
        const time = Date.parse(row[spec.partitionColumn] as string);
        span.from = Math.min(span.from, time);
        span.to = Math.max(span.to, time + 1);
      }
      const on = spec.key.map((column) => `T.${column} = S.${column}`).join(' AND ');
      const values = spec.columns.filter((column) => !spec.key.includes(column));
      await ctx.dml(
        `MERGE ${ctx.table(spec.name)} T USING ${ctx.table(writeTable)} S
         ON ${on} AND T.user_id IN UNNEST(@users) AND T.${spec.partitionColumn} >= TIMESTAMP_MILLIS(@from) AND T.${spec.partitionColumn} < TIMESTAMP_MILLIS(@to)
         WHEN MATCHED AND S.op = 'delete' THEN DELETE
         WHEN MATCHED THEN UPDATE SET ${values.map((column) => `${column} = S.${column}`).join(', ')}
         WHEN NOT MATCHED BY TARGET AND S.op = 'upsert' THEN INSERT (${spec.columns.join(', ')}) VALUES (${spec.columns.map((column) => `S.${column}`).join(', ')})`,
        { users, ...span },
        `merge rows into ${spec.name}`,
      );
    } finally {
      await dataset()
        .table(writeTable)
        .delete()
        .catch(() => {}); // it expires on its own
    }
  };

  /** Diffs the new rows of these users against the stored ones by key and content, and merges the difference. */
  const replaceRows = async (spec: BigQueryTableSpec, storedUsers: readonly string[], rows: readonly Row[]): Promise<{ written: number; deleted: number }> => {
    const keyOf = (row: Row) => spec.key.map((column) => String(row[column])).join('\u0000');
    const chSpec = TABLES[spec.name];
    const stored = new Map<string, Row>();
    if (storedUsers.length > 0) {
      for await (const row of ctx.select(`SELECT ${selectList(spec)} FROM ${ctx.table(spec.name)} WHERE user_id IN UNNEST(@users)`, { users: [...storedUsers] }, `read ${spec.name}`)) {
        stored.set(keyOf(row), row);
      }
    }
    const upserts: Row[] = [];
    for (const row of rows) {
      const key = keyOf(row);
      const before = stored.get(key);
      stored.delete(key);
      if (before !== undefined && canonicalJson(chSpec, before) === canonicalJson(chSpec, row)) continue;
      upserts.push(row);
    }
    const deletes = [...stored.values()];
    await mergeChanges(spec, upserts, deletes);
    return { written: upserts.length, deleted: deletes.length };
  };

  /** One query for the rows of one day in each derived table (and its staging twin when `staging`). */
  const countDay = async (day: string, staging: boolean): Promise<DayCounts> => {
    const name = (table: DerivedTable) => (staging ? stagingName(BQ_TABLES[table]) : table);
    const inDay = (table: DerivedTable) => `DATE(${BQ_TABLES[table].partitionColumn}) = CAST(@day AS DATE)`;
    const count = (table: DerivedTable) => `(SELECT COUNT(*) FROM ${ctx.table(name(table))} WHERE ${inDay(table)}) AS ${table}`;
    const kinds = `(SELECT AS STRUCT COUNTIF(kind = 'label') AS labels, COUNTIF(kind = 'flag') AS flags FROM ${ctx.table(name('findings'))} WHERE ${inDay('findings')}) AS kinds`;
    const [row] = await ctx.rows(`SELECT ${DERIVED_TABLES.map(count).join(', ')}, ${kinds}`, { day }, `count the rows of ${day}`);
    const kindRow = (row?.kinds ?? {}) as Row;
    const counts = emptyCounts();
    for (const table of DERIVED_TABLES) counts[table] = Number(row?.[table] ?? 0);
    counts.labels = Number(kindRow.labels ?? 0);
    counts.flags = Number(kindRow.flags ?? 0);
    return counts;
  };

  const clearStaging = async (day: string): Promise<void> => {
    for (const table of DERIVED_TABLES) {
      const spec = BQ_TABLES[table];
      await ctx.dml(`DELETE FROM ${ctx.table(stagingName(spec))} WHERE DATE(${spec.partitionColumn}) = CAST(@day AS DATE)`, { day }, 'clear a staging partition');
    }
  };

  return {
    async replaceUsers(userIds: readonly string[], derivation: UserDerivation, _version: number): Promise<ReplaceResult> {
      if (userIds.length === 0) return { sessions: { written: 0, deleted: 0 }, events: { written: 0, deleted: 0 }, findings: { written: 0, deleted: 0 }, funnel_outcomes: { written: 0, deleted: 0 } };
      const rows = rowsOf(derivation);
      // One look for which users have any row at all: only those need their stored rows read (on a first run nobody does).
      const stored = await usersWithRows(userIds);
      const result = {} as ReplaceResult;
      // Sessions last: a crash part-way leaves sessions stale rather than pointing at missing rows;
      // the users stay dirty in the raw store, so the next derive completes the job.
      for (const table of ['events', 'findings', 'funnel_outcomes', 'sessions'] as const) result[table] = await replaceRows(BQ_TABLES[table], stored, rows[table]);
      return result;
    },

    async dayCounts(day: string): Promise<DayCounts> {
      partitionId(day);
      return countDay(day, false);
    },

    async rebuildDay(day: string): Promise<DayRebuild> {
      partitionId(day); // a real calendar day, or an error
      // A staging partition left by a crashed rebuild must not leak into this one.
      await clearStaging(day);
      const staged = emptyCounts();
      // Staged rows wait for a load job until there are STAGE_LOAD_ROWS of a table (and at commit):
      // BigQuery allows 1,500 load jobs per table a day, and reprocess stages a day 250 users at a time.
      const pending: Record<DerivedTable, Row[]> = { sessions: [], events: [], findings: [], funnel_outcomes: [] };
      const flush = async (table: DerivedTable): Promise<void> => {
        const rows = pending[table].splice(0);
        await ctx.load(stagingName(BQ_TABLES[table]), rows);
      };
      return {
        day,
        stage: async (derivation) => {
          // Whether a user is flagged depends on all of their sessions, so it is decided before the day is cut out.
          const ofDay = derivationOfDay(derivation, day);
          const rows = rowsOf({ ...ofDay, funnelOutcomes: withFlagged(derivation).filter((o) => utcDay(o.startedAt) === day) });
          for (const table of DERIVED_TABLES) {
            for (const row of rows[table]) pending[table].push(loadRow(BQ_TABLES[table], row));
            staged[table] += rows[table].length;
            if (pending[table].length >= STAGE_LOAD_ROWS) await flush(table);
          }
          staged.labels += ofDay.findings.filter((f) => f.kind === 'label').length;
          staged.flags += ofDay.findings.filter((f) => f.kind === 'flag').length;
        },
        commit: async () => {
          for (const table of DERIVED_TABLES) await flush(table);
          const inStaging = await countDay(day, true);
          for (const table of DERIVED_TABLES) {
            if (inStaging[table] !== staged[table]) {
              throw new InfrastructureError(`analytics store: staging for ${table} ${day} holds ${inStaging[table]} rows, ${staged[table]} were written; not swapping it in`, {
                hint: 'run the reprocess again (it rebuilds the day from the raw store)',
              });
            }
          }
          // One MERGE per table replaces the day atomically: the day's old rows deleted and the
          // staged ones inserted in one statement (an empty staging day leaves the day empty).
          for (const table of DERIVED_TABLES) {
            const spec = BQ_TABLES[table];
            const inDay = (alias: string) => `DATE(${alias}${spec.partitionColumn}) = CAST(@day AS DATE)`;
            await ctx.dml(
              `MERGE ${ctx.table(spec.name)} T USING (SELECT * FROM ${ctx.table(stagingName(spec))} WHERE ${inDay('')}) S ON FALSE
               WHEN NOT MATCHED BY SOURCE AND ${inDay('T.')} THEN DELETE
               WHEN NOT MATCHED THEN INSERT (${spec.columns.join(', ')}) VALUES (${spec.columns.map((column) => `S.${column}`).join(', ')})`,
              { day },
              `swap in ${table} ${day}`,
            );
          }
          await clearStaging(day);
          return { ...staged };
        },
      };
    },
  };
}
