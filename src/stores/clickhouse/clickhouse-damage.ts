import type { AnalyticsDamage } from '../ports/analytics-admin.js';
import { DERIVED_TABLES } from '../ports/derived-writes.js';
import { dayOfPartition, type StoreDamage } from '../store-damage.js';
import { type ClickHouseContext, firstLine, partitionId } from './clickhouse-connection.js';
import { MIRROR_TABLES } from './mirror-schema.js';
import { CHECK_FAILURES_TABLE, quoteIdentifier, stagingName, TABLES } from './schema.js';

/** Damage (journeyctl doctor, repair, and the cheap look every open takes): see store-damage.ts. */
export function clickHouseDamage(ctx: ClickHouseContext): AnalyticsDamage {
  const { db, database } = ctx;

  const existingTables = async (): Promise<string[]> => {
    const names: string[] = [];
    for await (const row of ctx.select('SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name', { db: database })) names.push(row.name as string);
    return names;
  };

  /**
   * Parts the engine set aside when it opened the tables (a truncated part, altered marks or
   * count.txt): their rows silently vanish from every read. One small system-table scan.
   */
  const brokenParts = async (): Promise<StoreDamage[]> => {
    const damage: StoreDamage[] = [];
    const query = `SELECT table, name, partition_id, reason FROM system.detached_parts
      WHERE database = {db:String} AND (startsWith(reason, 'broken') OR reason IN ('unexpected', 'covered-by-broken')) ORDER BY table, name`;
    for await (const row of ctx.select(query, { db: database })) {
      const name = row.name as string;
      const part = name.slice(String(row.reason).length + 1) || name;
      const day = dayOfPartition((row.partition_id as string | null) ?? part.split('_')[0]);
      damage.push({
        store: 'analytics store',
        kind: 'broken part',
        table: row.table as string,
        ...(day ? { day } : {}),
        part,
        detail: `part ${part} was set aside as ${row.reason} (truncated or altered files); its rows are missing from every read`,
      });
    }
    return damage;
  };

  const detachedName = async (table: string, part: string): Promise<string | null> => {
    for await (const row of ctx.select('SELECT name FROM system.detached_parts WHERE database = {db:String} AND table = {table:String} AND endsWith(name, {part:String})', {
      db: database,
      table,
      part,
    }))
      return row.name as string;
    return null;
  };

  return {
    existingTables,
    brokenParts,

    /** count() reads part metadata only. */
    async eventCount(): Promise<number> {
      for await (const row of ctx.select(`SELECT count() AS n FROM ${db}.events`, {})) return Number(row.n);
      return 0;
    },

    /** The mirror tables too: a deleted one leaves dashboards blank; repair re-creates it and publishes the copies again. */
    expectedTables(): string[] {
      return [...Object.values(TABLES).flatMap((spec) => [spec.name, stagingName(spec)]), CHECK_FAILURES_TABLE, ...MIRROR_TABLES].sort();
    },

    /** CHECK TABLE on every table: each part's files against its checksums. */
    async checkParts(): Promise<StoreDamage[]> {
      const damage: StoreDamage[] = [];
      for (const table of await existingTables()) {
        let result;
        try {
          result = await ctx.client.query({ query: `CHECK TABLE ${db}.${quoteIdentifier(table)}`, format: 'JSONEachRow', clickhouse_settings: { check_query_single_value_result: 0 } });
        } catch (error) {
          damage.push({ store: 'analytics store', kind: 'checksum mismatch', table, detail: `CHECK TABLE failed: ${firstLine(error)}` });
          continue;
        }
        for (const row of await result.json<{ part_path: string; is_passed: number; message: string }>()) {
          if (Number(row.is_passed) === 1) continue;
          const day = dayOfPartition(row.part_path.split('_')[0]);
          damage.push({
            store: 'analytics store',
            kind: 'checksum mismatch',
            table,
            ...(day ? { day } : {}),
            part: row.part_path,
            detail: `part ${row.part_path} fails its checksums: ${row.message.split('\n')[0]}`,
          });
        }
      }
      return damage;
    },

    async dropBrokenParts(): Promise<number> {
      const broken = await brokenParts();
      for (const { table, part } of broken) {
        const name = (await detachedName(table!, part!)) ?? part!;
        await ctx.run(
          `ALTER TABLE ${db}.${quoteIdentifier(table!)} DROP DETACHED PART '${name.replace(/[^A-Za-z0-9_-]/g, '')}' SETTINGS allow_drop_detached = 1`,
          `drop the broken part ${name} of ${table}`,
        );
      }
      return broken.length;
    },

    /** A damaged part cannot be read to be replaced: its days are dropped, then rebuilt. */
    async dropDays(days: readonly string[]): Promise<void> {
      for (const day of days) for (const table of DERIVED_TABLES) await ctx.run(`ALTER TABLE ${db}.${table} DROP PARTITION ID '${partitionId(day)}'`, `drop ${table} ${day}`);
    },

    async truncateDerived(): Promise<void> {
      for (const spec of Object.values(TABLES)) {
        await ctx.run(`TRUNCATE TABLE IF EXISTS ${db}.${spec.name}`, `empty ${spec.name}`);
        await ctx.run(`TRUNCATE TABLE IF EXISTS ${db}.${stagingName(spec)}`, `empty ${stagingName(spec)}`);
      }
    },
  };
}
