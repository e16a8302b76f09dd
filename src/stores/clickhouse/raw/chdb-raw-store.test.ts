import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { drainPending } from 'chdb';
import { createChdbConnection } from 'chdb/connection';
import { afterAll, describe, expect, it } from 'vitest';
import { describeRawStoreCorrectionsConformance } from '../../raw-store-corrections.conformance.js';
import { describeRawStoreConformance } from '../../raw-store.conformance.js';
import { SqliteRawStore } from '../../sqlite/sqlite-raw-store.js';
import { createClickHouseContext } from '../clickhouse-connection.js';
import { composeRawStore, createClickHouseRawContext, migrateRawTables } from './compose-raw-store.js';
import { PENDING_REPLACEMENTS } from './raw-event-log.js';

// One chdb engine for the file (chdb binds one directory per process); each store gets its own
// database and its own raw.sqlite, so every test starts empty.
const dir = mkdtempSync(join(tmpdir(), 'jc-chraw-'));
let client: ClickHouseClient | undefined;
let stores = 0;
afterAll(async () => {
  await client?.close();
  await drainPending();
});

function opener(spooled: boolean) {
  return async () => {
    client ??= createClient({ connection: createChdbConnection({ path: join(dir, 'analytics') }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'] });
    stores += 1;
    const ctx = createClickHouseRawContext(createClickHouseContext(client, `raw_${stores}`, 'chdb'), { spoolDir: spooled ? dir : null });
    await migrateRawTables(ctx);
    return composeRawStore(SqliteRawStore.open(join(dir, `raw-${stores}.sqlite`)), ctx, { engine: 'chdb' });
  };
}

describeRawStoreConformance('chdb raw tables + SQLite (spooled batches)', opener(true));
describeRawStoreCorrectionsConformance('chdb raw tables + SQLite (spooled batches)', opener(true));
describeRawStoreConformance('chdb raw tables + SQLite (batches in the request body)', opener(false));
describeRawStoreCorrectionsConformance('chdb raw tables + SQLite (batches in the request body)', opener(false));

describe('a killed writer’s pending replacements', () => {
  it('are finished by an owner opening the store, and left alone by a reader beside a live holder', async () => {
    client ??= createClient({ connection: createChdbConnection({ path: join(dir, 'analytics') }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'] });
    stores += 1;
    const ctx = createClickHouseRawContext(createClickHouseContext(client, `raw_${stores}`, 'chdb'), { spoolDir: dir });
    await migrateRawTables(ctx);
    const sqlite = join(dir, `raw-${stores}.sqlite`);
    const seeded = SqliteRawStore.open(sqlite);
    await seeded.writeMeta(PENDING_REPLACEMENTS, JSON.stringify(['m-1']));
    await seeded.close();

    const reader = await composeRawStore(SqliteRawStore.open(sqlite), ctx, { engine: 'chdb', finishPending: false });
    expect(await reader.readMeta(PENDING_REPLACEMENTS)).toBe(JSON.stringify(['m-1']));
    await reader.close();

    const owner = await composeRawStore(SqliteRawStore.open(sqlite), ctx, { engine: 'chdb' });
    expect(await owner.readMeta(PENDING_REPLACEMENTS)).toBeNull();
    await owner.close();
  });
});
