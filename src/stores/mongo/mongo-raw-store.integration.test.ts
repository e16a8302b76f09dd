import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { getServices } from '../../../test/harness/services.js';
import { describeRawStoreCorrectionsConformance } from '../raw-store-corrections.conformance.js';
import { describeRawStoreConformance } from '../raw-store.conformance.js';
import { MONGO_INDEXES, MongoRawStore, type MongoWriteSeams } from './mongo-raw-store.js';

// The same suite as the embedded SQLite store, against FerretDB (MongoDB wire protocol):
// a fresh database per test, so tests never see each other's documents.
const run = `${process.pid}_${randomBytes(3).toString('hex')}`;
const databases: string[] = [];
let counter = 0;

async function openFresh(seams?: MongoWriteSeams): Promise<MongoRawStore> {
  const database = `conformance_${run}_${++counter}`;
  databases.push(database);
  const store = await MongoRawStore.open({ url: getServices().mongo.url, database }, seams);
  await store.migrate();
  return store;
}

describeRawStoreConformance('MongoDB (FerretDB)', () => openFresh());
describeRawStoreCorrectionsConformance('MongoDB (FerretDB)', () => openFresh());

describe('MongoDB raw store specifics', () => {
  it('migrate creates every index and is idempotent', async () => {
    const store = await openFresh();
    try {
      expect(await store.missingSchema()).toEqual([]);
      await store.migrate();
      expect(await store.missingSchema()).toEqual([]);
      expect((await store.serverInfo()).ferretdb).toMatch(/^v1\./);
    } finally {
      await store.close();
    }
    expect(MONGO_INDEXES.length).toBeGreaterThan(0);
  });

  it('re-ingesting a line changes nothing, yet a write interrupted after its events is repaired by the re-delivery', async () => {
    const seams: MongoWriteSeams = {};
    const store = await openFresh(seams);
    try {
      const event = {
        messageId: 'm1',
        type: 'identify' as const,
        event: 'identify',
        userId: 'u1',
        anonymousId: 'a1',
        previousId: null,
        identityKey: 'u1',
        eventTime: 1_000,
        timeSource: 'skew_corrected' as const,
        skewMs: 0,
        receivedAt: 1_500,
        appVersion: null,
        properties: {},
        context: {},
        traits: {},
        raw: '{"x":1}',
        rawHash: 'h',
      };
      await store.writeBatch([event], []);
      await store.clearDirtyIds(await store.listDirtyIds(100));
      // The same line again changes nothing.
      expect(await store.writeBatch([event], [])).toMatchObject({ inserted: 0, duplicates: 1 });
      expect(await store.listDirtyIds(100)).toEqual([]);
      // A write that dies after storing the event but before its marks (here: the marks fail)...
      const second = { ...event, messageId: 'm2', userId: 'u2', identityKey: 'u2', anonymousId: 'a2', eventTime: 500 };
      seams.insertMarks = async () => {
        throw new Error('connection lost');
      };
      await expect(store.writeBatch([second], [])).rejects.toThrow(/connection lost/);
      delete seams.insertMarks;
      expect(await store.listDirtyIds(100)).toEqual([]);
      expect(Object.fromEntries(await store.linkTargets(['a2']))).toEqual({ a2: 'u2' });
      // ...is repaired by its re-delivery, although every line of it is a duplicate now.
      expect(await store.writeBatch([second], [])).toMatchObject({ inserted: 0, duplicates: 1 });
      expect((await store.listDirtyIds(100)).map((d) => d.id).sort()).toEqual(['a2', 'u2']);
    } finally {
      await store.close();
    }
  });

  it('never prints the password of the connection string', async () => {
    const url = getServices()
      .mongo.url.replace('mongodb://', 'mongodb://someone:s3cr%40t-pw@')
      .replace(/:(\d+)\//, ':1/');
    const error = await MongoRawStore.open({ url: `${url}?serverSelectionTimeoutMS=300`, database: 'x' }).then(
      () => new Error('connected'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('someone:***@');
    expect(error.message).not.toContain('s3cr');
    expect(String((error.cause as Error | undefined)?.stack ?? '')).not.toContain('s3cr');
  });
});

afterAll(async () => {
  const client = new MongoClient(getServices().mongo.url);
  try {
    for (const database of databases)
      await client
        .db(database)
        .dropDatabase()
        .catch(() => {});
  } finally {
    await client.close();
  }
});
