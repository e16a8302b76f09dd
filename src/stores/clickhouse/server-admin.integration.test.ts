import { createClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { getServices } from '../../../test/harness/services.js';
import { clusterSchemaStatements, inspectClickHouse, migrateServerAnalytics } from './server-admin.js';

describe('ClickHouse server administration (migrate, doctor)', () => {
  it('creates the tables idempotently and reports none missing', async () => {
    const options = { url: getServices().clickhouse.url, database: `admin_${process.pid}_${Date.now()}`, username: 'default', password: '' };
    expect((await inspectClickHouse(options)).missingTables.length).toBeGreaterThan(0);
    await migrateServerAnalytics(options);
    await migrateServerAnalytics(options);
    const found = await inspectClickHouse(options);
    expect(found.missingTables).toEqual([]);
    expect(found.version).toMatch(/^\d+\.\d+/);
  });

  it('writes ON CLUSTER statements the server parses (no cluster here to run them on)', async () => {
    const client = createClient({ url: getServices().clickhouse.url });
    try {
      for (const statement of clusterSchemaStatements('journeyctl', 'prod_cluster')) {
        const result = await client.query({ query: `EXPLAIN AST ${statement}`, format: 'TabSeparated' });
        // CREATE for the tables, ALTER … ADD COLUMN for columns added since (session_mode).
        expect(await result.text()).toMatch(/^(CreateQuery|AlterQuery)/);
      }
    } finally {
      await client.close();
    }
  });

  it('names an unreachable server without its password', async () => {
    const error = await inspectClickHouse({ url: 'http://127.0.0.1:1', database: 'x', username: 'u', password: 'pw' }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/ClickHouse at http:\/\/127\.0\.0\.1:1/);
    expect(error?.message).not.toContain('pw');
  });
});
