import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { drainPending } from 'chdb';
import { createChdbConnection } from 'chdb/connection';
import { afterAll, describe, expect, it } from 'vitest';
import { describeRawStoreCorrectionsConformance } from '../../raw-store-corrections.conformance.js';
import { accepted, describeRawStoreConformance } from '../../raw-store.conformance.js';
import { hasGroupedReads } from '../../ports/grouped-reads.js';
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

describe('grouped reads (reprocess, ADR 0023)', () => {
  it('give each group what eventsByIdentity and rawLinesByIdentity give its keys; a leftover copy is replaced, a closed one is gone', async () => {
    const store = await opener(true)();
    await store.writeBatch(
      [
        accepted({ messageId: 'a1', identityKey: 'a', anonymousId: 'a', raw: '{"a":1}', rawHash: 'ha1' }),
        accepted({ messageId: 'a2', identityKey: 'a', anonymousId: 'a', eventTime: 2_000, raw: '{"a":2}', rawHash: 'ha2', properties: { p: 1 } }),
        accepted({ messageId: 'b1', identityKey: 'b', anonymousId: 'b', raw: '{"b":1}', rawHash: 'hb1' }),
        accepted({ messageId: 'c1', identityKey: 'c', anonymousId: 'c', raw: '{"c":1}', rawHash: 'hc1' }),
      ],
      [],
    );
    await store.writeBatch([accepted({ messageId: 'b1', identityKey: 'b', anonymousId: 'b', raw: '{"b":1,"retry":1}', rawHash: 'hb1-retry', receivedAt: 1_600 })], []);
    expect(hasGroupedReads(store)).toBe(true);
    if (!hasGroupedReads(store)) return;
    const groups = [['a'], ['b', 'c'], ['nobody']];
    const leftover = await store.openGroupedReads(groups, 'lines');
    const events = await store.openGroupedReads(groups, 'events');
    for (const [index, keys] of groups.entries()) expect(await events.events(index)).toEqual(await store.eventsByIdentity(keys));
    expect((await events.events(1)).find((e) => e.messageId === 'b1')!.copies).toBe(2);
    await events.close();
    await leftover.close();
    const lines = await store.openGroupedReads(groups, 'lines');
    for (const [index, keys] of groups.entries()) expect(await lines.lines(index)).toEqual(await store.rawLinesByIdentity(keys));
    await lines.close();
    await expect(lines.lines(0)).rejects.toThrow();
    await store.close();
  });

  it('are offered only where this process owns the engine (spooled)', async () => {
    const store = await opener(false)();
    expect(hasGroupedReads(store)).toBe(false);
    await store.close();
  });
});
