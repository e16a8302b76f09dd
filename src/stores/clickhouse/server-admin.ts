import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { InfrastructureError, UsageError } from '../../errors.js';
import { openServerAnalytics, type ServerAnalyticsOptions } from './open-clickhouse.js';
import { quoteIdentifier, schemaStatements } from './schema.js';

/**
 * Operator tasks on a ClickHouse server (`journeyctl migrate`, `journeyctl doctor`). The schema
 * itself stays in schema.ts; this file only runs it, or its ON CLUSTER form.
 */

/** Creates the database and tables (idempotent). With `cluster`, on every node of that cluster with Replicated engines. */
export async function migrateServerAnalytics(options: ServerAnalyticsOptions, cluster?: string): Promise<string[]> {
  if (cluster === undefined) {
    const store = await openServerAnalytics(options); // opening creates what is missing
    await store.close();
    return schemaStatements(options.database);
  }
  return runOnCluster(options, clusterSchemaStatements(options.database, cluster), cluster, 'analytics');
}

/** Runs statements ON CLUSTER (from clusterSchemaStatements) in order; `what` names the tables in an error. */
export async function runOnCluster(options: ServerAnalyticsOptions, statements: string[], cluster: string, what: string): Promise<string[]> {
  const client = createClient({ url: options.url, username: options.username, password: options.password, request_timeout: 300_000, log: { level: ClickHouseLogLevel.OFF } });
  try {
    for (const statement of statements) await client.command({ query: statement });
    return statements;
  } catch (error) {
    throw new InfrastructureError(`cannot create the ${what} tables on cluster ${cluster}: ${firstLine(error)}`, {
      hint: 'check the cluster name (system.clusters), the {shard}/{replica} macros and ClickHouse Keeper',
      cause: error,
      retriable: false,
    });
  } finally {
    await client.close();
  }
}

const REPLICA_PATH = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'";

/**
 * schema.ts's statements for a cluster: `ON CLUSTER` on every CREATE, and each MergeTree-family
 * engine as its Replicated twin with a Keeper path per shard, database and table (the {shard}
 * and {replica} macros come from each server's config). A table created `AS` another (the
 * staging tables of REPLACE PARTITION) gets that table's engine spelled out, so it has a Keeper
 * path of its own. One shard with replicas: reads and writes go to any replica; a multi-shard
 * layout would add Distributed tables over these and is not covered.
 */
export function clusterSchemaStatements(database: string, cluster: string, statements: readonly string[] = schemaStatements(database)): string[] {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(cluster)) throw new UsageError(`--cluster "${cluster}" is not a ClickHouse cluster name`, { hint: 'use a name listed in system.clusters' });
  const on = `ON CLUSTER \`${cluster}\``;
  const tails = new Map<string, string>();
  const out: string[] = [];
  for (const statement of statements) {
    let sql = statement
      .replace(/^CREATE DATABASE IF NOT EXISTS (\S+)/, `CREATE DATABASE IF NOT EXISTS $1 ${on}`)
      .replace(/^CREATE TABLE IF NOT EXISTS (\S+)/, `CREATE TABLE IF NOT EXISTS $1 ${on}`)
      .replace(/^ALTER TABLE (\S+)/, `ALTER TABLE $1 ${on}`)
      .replace(/ENGINE = (\w*)MergeTree\(([^)]*)\)/, (_m, kind: string, args: string) => `ENGINE = Replicated${kind}MergeTree(${REPLICA_PATH}${args.trim() ? `, ${args}` : ''})`)
      .replace(/ENGINE = (\w*)MergeTree(?!\w|\()/, (_m, kind: string) => `ENGINE = Replicated${kind}MergeTree(${REPLICA_PATH})`);
    const name = /^CREATE TABLE IF NOT EXISTS (\S+)/.exec(statement)?.[1];
    const engine = sql.indexOf('ENGINE = ');
    if (name && engine >= 0) tails.set(name, sql.slice(engine));
    const copied = /AS (\S+)\s*$/.exec(sql);
    if (copied && engine < 0) {
      const tail = tails.get(copied[1]!);
      if (tail) sql = `${sql} ${tail}`;
    }
    out.push(sql);
  }
  return out;
}

export interface ClickHouseInspection {
  version: string;
  /** Tables migrate() creates that the database lacks. */
  missingTables: string[];
}

/** For doctor: reachable, version, tables present (those `statements` create). Throws an InfrastructureError when unreachable or refused. */
export async function inspectClickHouse(options: ServerAnalyticsOptions, statements: readonly string[] = schemaStatements(options.database)): Promise<ClickHouseInspection> {
  const client = createClient({ url: options.url, username: options.username, password: options.password, request_timeout: 10_000, log: { level: ClickHouseLogLevel.OFF } });
  try {
    const version = (await (await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>())[0]?.v ?? 'unknown';
    const present = new Set(
      (
        await (await client.query({ query: 'SELECT name FROM system.tables WHERE database = {db:String}', query_params: { db: options.database }, format: 'JSONEachRow' })).json<{ name: string }>()
      ).map((row) => row.name),
    );
    const db = quoteIdentifier(options.database);
    const wanted = statements.flatMap((sql) => {
      const match = new RegExp(`^CREATE TABLE IF NOT EXISTS ${db.replace(/[`]/g, '\\`')}\\.(\\w+)`).exec(sql);
      return match ? [match[1]!] : [];
    });
    return { version, missingTables: wanted.filter((table) => !present.has(table)) };
  } catch (error) {
    const refused = (error as { type?: unknown }).type !== undefined;
    throw new InfrastructureError(`ClickHouse at ${redactUrl(options.url)}: ${firstLine(error)}`, {
      hint: refused ? 'check the user and password (stores.analytics.username/password)' : 'check that the server is running and the URL is right (--clickhouse-url)',
      cause: error,
      retriable: !refused,
    });
  } finally {
    await client.close();
  }
}

/** http://user:secret@host → http://user:***@host */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]+):[^@/]*@/i, '$1:***@');
}

function firstLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split('\n')[0]!;
}
