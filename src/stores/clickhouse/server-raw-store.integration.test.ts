import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { getServices } from '../../../test/harness/services.js';
import { type JourneyConfig, resolveConfig } from '../../config/config.js';
import { rawEngineAdmin } from '../engine-admin.js';
import { REGISTERED_ENGINE_NAMES } from '../engine-names.js';
import { openRawStore } from '../open-stores.js';
import { describeRawStoreCorrectionsConformance } from '../raw-store-corrections.conformance.js';
import { accepted, describeRawStoreConformance } from '../raw-store.conformance.js';
import { MongoRawStore } from '../mongo/mongo-raw-store.js';
import { rawSchemaStatements } from './raw/raw-schema.js';
import { clusterSchemaStatements } from './server-admin.js';
import { openServerRawStore } from './server-raw-store.js';

// `stores.raw.engine: clickhouse`: raw events in ClickHouse over HTTP (the harness serves chdb as
// ClickHouse), the rest in MongoDB (FerretDB). The suites the embedded and MongoDB stores pass,
// opened through the registered engine as a config file names it; fresh databases per test.
const run = `${process.pid}_${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'journey-raw-ch-'));
let counter = 0;

function freshConfig(): { config: JourneyConfig; database: string } {
  const database = `raw_ch_${run}_${++counter}`;
  const path = join(dir, `${database}.yaml`);
  const { clickhouse, mongo } = getServices();
  writeFileSync(path, `stores:\n  raw:\n    engine: clickhouse\n    url: "${clickhouse.url}"\n    database: ${database}\n    mongo_url: "${mongo.url}"\n`);
  const resolved = resolveConfig({ configPath: path, dataDir: join(dir, database) }, {}, { engines: REGISTERED_ENGINE_NAMES });
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  return { config: resolved.config, database };
}

async function openFresh() {
  const { config } = freshConfig();
  await rawEngineAdmin(config).migrate({ command: 'test', waitMs: 0, log: () => {} });
  return openRawStore(config);
}

describeRawStoreConformance('ClickHouse events over HTTP + MongoDB (FerretDB)', openFresh);
describeRawStoreCorrectionsConformance('ClickHouse events over HTTP + MongoDB (FerretDB)', openFresh);

describe('ClickHouse raw engine administration', () => {
  it('doctor reports the raw tables missing until migrate creates them, and migrate is idempotent', async () => {
    const { config, database } = freshConfig();
    const admin = rawEngineAdmin(config);
    expect(admin).toMatchObject({ engine: 'clickhouse', label: 'clickhouse' });
    const before = await admin.health();
    expect(before.find((row) => row.check === 'raw tables')).toMatchObject({ status: 'fail', detail: `missing in ${database}: raw_events, raw_rejected, raw_copies` });
    expect(await admin.migrate({ command: 'test', waitMs: 0, log: () => {} })).toMatch(/^raw tables, collections and indexes ready at http:/);
    await admin.migrate({ command: 'test', waitMs: 0, log: () => {} });
    const after = await admin.health();
    expect(after.filter((row) => row.status !== 'ok')).toEqual([]);
    expect(after.map((row) => row.check)).toEqual(expect.arrayContaining(['reachable', 'collections and indexes', 'ClickHouse version', 'raw tables']));
  });

  it('keeps the events in ClickHouse and a re-sent line adds no row', async () => {
    const { config, database } = freshConfig();
    await rawEngineAdmin(config).migrate({ command: 'test', waitMs: 0, log: () => {} });
    const store = await openRawStore(config);
    try {
      const event = accepted({ messageId: 'm1', userId: 'u1', identityKey: 'u1' });
      expect(await store.writeBatch([event], [])).toMatchObject({ inserted: 1 });
      expect(await store.writeBatch([event], [])).toMatchObject({ inserted: 0, duplicates: 1 });
    } finally {
      await store.close();
    }
    const client = createClient({ url: getServices().clickhouse.url });
    try {
      const rows = await (await client.query({ query: `SELECT message_id FROM ${database}.raw_events`, format: 'JSONEachRow' })).json<{ message_id: string }>();
      expect(rows).toEqual([{ message_id: 'm1' }]);
    } finally {
      await client.close();
    }
  });

  it('marks a batch dirty again once its rows are in, so a derivation between its marks and its rows misses nothing', async () => {
    const { database } = freshConfig();
    const { clickhouse, mongo } = getServices();
    const base = await MongoRawStore.open({ url: mongo.url, database });
    await base.migrate();
    // Another process derives right after the marks land and before the rows do: it clears them.
    let derivedBetween = false;
    const racing = {
      ...base,
      async recordArrivals(links: Parameters<typeof base.recordArrivals>[0], dirty: Parameters<typeof base.recordArrivals>[1]) {
        await base.recordArrivals(links, dirty);
        if (derivedBetween) return;
        derivedBetween = true;
        await base.clearDirtyIds(await base.listDirtyIds(1_000));
      },
    };
    const store = await openServerRawStore(racing, { url: clickhouse.url, database, username: 'default', password: '' }, { create: true });
    try {
      expect(await store.writeBatch([accepted({ messageId: 'm1', userId: 'u1', identityKey: 'u1', anonymousId: 'a1' })], [])).toMatchObject({ inserted: 1 });
      expect(derivedBetween).toBe(true);
      expect((await store.listDirtyIds(1_000)).map((d) => d.id).sort()).toEqual(['a1', 'u1']);
    } finally {
      await store.close();
    }
  });

  it('writes ON CLUSTER statements for the raw tables that the server parses', async () => {
    const statements = clusterSchemaStatements('journeyctl', 'prod_cluster', rawSchemaStatements('journeyctl'));
    expect(statements.filter((s) => s.startsWith('CREATE TABLE')).every((s) => /ON CLUSTER `prod_cluster`[\s\S]*ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\//.test(s))).toBe(true);
    const client = createClient({ url: getServices().clickhouse.url });
    try {
      for (const statement of statements) {
        const result = await client.query({ query: `EXPLAIN AST ${statement}`, format: 'TabSeparated' });
        expect(await result.text()).toMatch(/^CreateQuery/);
      }
    } finally {
      await client.close();
    }
  });
});
