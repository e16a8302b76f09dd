import { describe, expect, it } from 'vitest';
import { clusterSchemaStatements, redactUrl } from './server-admin.js';
import { schemaStatements } from './schema.js';

// No ClickHouse cluster runs in the test harness: the ON CLUSTER form is checked as text.
describe('migrate --cluster', () => {
  const statements = clusterSchemaStatements('journeyctl', 'prod_cluster');

  it('puts ON CLUSTER on every statement and replicates every MergeTree', () => {
    expect(statements).toHaveLength(schemaStatements('journeyctl').length);
    for (const sql of statements) expect(sql).toContain('ON CLUSTER `prod_cluster`');
    for (const sql of statements) expect(sql).not.toMatch(/ENGINE = (Replacing)?MergeTree/);
    expect(statements.filter((sql) => sql.includes("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version, is_deleted)")).length).toBeGreaterThanOrEqual(
      4,
    );
  });

  it('spells out the engine of tables created AS another, so each has its own Keeper path', () => {
    const copies = statements.filter((sql) => / AS `journeyctl`\.\w+ ENGINE = /.test(sql));
    expect(copies.length).toBe(schemaStatements('journeyctl').filter((sql) => / AS `journeyctl`\.\w+$/.test(sql)).length);
    for (const sql of copies) expect(sql).toMatch(/ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'.*PARTITION BY .*ORDER BY/s);
  });

  it('refuses a cluster name that is not an identifier', () => {
    expect(() => clusterSchemaStatements('journeyctl', 'x` ON CLUSTER y; DROP')).toThrow(/not a ClickHouse cluster name/);
  });

  it('never prints a password in a URL', () => {
    expect(redactUrl('http://reader:s3cret@ch:8123')).toBe('http://reader:***@ch:8123');
    expect(redactUrl('http://ch:8123')).toBe('http://ch:8123');
  });
});
