// Smoke tests of the real services the harness starts (test/harness/global-setup.ts):
// each one is driven with the same client library the application uses.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import kafkajs from 'kafkajs';
import { MongoBulkWriteError, MongoClient, MongoServerError, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ENV, getServices, launchPrivateService, restartService, serviceRecord, startService, stopService } from './harness/services.js';

const { Kafka, logLevel } = kafkajs;
const suffix = () => randomBytes(4).toString('hex');

describe('harness', () => {
  it('exposes the same addresses through getServices(), inject() and the environment', () => {
    const services = getServices();
    expect(inject('journeyServices')).toEqual(services);
    expect(process.env[ENV.kafka39]).toBe(services.kafka39.brokers.join(','));
    expect(process.env[ENV.kafka4]).toBe(services.kafka4.brokers.join(','));
    expect(process.env[ENV.mongo]).toBe(services.mongo.url);
    expect(process.env[ENV.clickhouse]).toBe(services.clickhouse.url);
    expect(services.kafka39.version).toMatch(/^3\.9\.\d+$/);
    expect(services.kafka4.version).toMatch(/^4\.\d+\.\d+$/);
    for (const name of ['kafka39', 'kafka4', 'mongo', 'clickhouse']) {
      const rec = serviceRecord(name);
      expect(rec.pid).toBeGreaterThan(0);
      expect(rec.host).toBe('127.0.0.1');
      expect(fs.existsSync(rec.dataDir)).toBe(true);
      expect(rec.command.length).toBeGreaterThan(0);
    }
  });
});

describe.each([
  ['kafka39', () => getServices().kafka39.brokers],
  ['kafka4', () => getServices().kafka4.brokers],
] as const)('Kafka (%s) with kafkajs', (name, brokers) => {
  it('round-trips 100 keyed messages through a 3-partition topic and a consumer group', async () => {
    const kafka = new Kafka({ clientId: `smoke-${name}`, brokers: brokers(), logLevel: logLevel.NOTHING });
    const topic = `smoke-${suffix()}`;
    const groupId = `smoke-group-${suffix()}`;
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    const consumer = kafka.consumer({ groupId });
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(meta.topics[0]!.partitions).toHaveLength(3);

      await producer.connect();
      const messages = Array.from({ length: 100 }, (_, i) => ({ key: `user-${i % 10}`, value: JSON.stringify({ i }) }));
      const acks = await producer.send({ topic, messages, acks: -1 });
      expect(acks.length).toBeGreaterThan(0);

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen: { key: string; partition: number; i: number; offset: string }[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed only ${seen.length}/100`)), 45_000);
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              seen.push({
                key: message.key!.toString(),
                partition,
                i: (JSON.parse(message.value!.toString()) as { i: number }).i,
                offset: message.offset,
              });
              await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
              if (seen.length === 100) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
      expect(new Set(seen.map((m) => m.i)).size).toBe(100);
      // same key, same partition; and the keys spread over more than one partition
      const partitionOfKey = new Map<string, number>();
      for (const m of seen) {
        expect(partitionOfKey.get(m.key) ?? m.partition).toBe(m.partition);
        partitionOfKey.set(m.key, m.partition);
      }
      expect(new Set(partitionOfKey.values()).size).toBeGreaterThan(1);
      // order within a partition is kept
      for (let p = 0; p < 3; p++) {
        const inPartition = seen.filter((m) => m.partition === p).map((m) => m.i);
        expect(inPartition).toEqual([...inPartition].sort((a, b) => a - b));
      }
      await consumer.disconnect();

      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      const total = committed[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0);
      expect(total).toBe(100);
      const ends = await admin.fetchTopicOffsets(topic);
      expect(ends.reduce((n, p) => n + Number(p.high), 0)).toBe(100);
    } finally {
      await consumer.disconnect().catch(() => {});
      await producer.disconnect().catch(() => {});
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });
});

describe('outage controls (private instances)', () => {
  it('Kafka comes back after a crash with its topics, messages and committed offsets', async () => {
    const k = await launchPrivateService('kafka4');
    const kafka = new Kafka({ clientId: 'outage', brokers: [k.address], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    const topic = `outage-${suffix()}`;
    try {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });
      await admin.setOffsets({ groupId: 'g', topic, partitions: [{ partition: 0, offset: '4' }] });
      await producer.disconnect();
      await admin.disconnect();

      const before = k.record().pid;
      await stopService(k.name, { signal: 'SIGKILL' });
      expect(serviceRecord(k.name).pid).toBe(0);
      const after = await startService(k.name); // same port, same log.dirs, no re-format
      expect(after.pid).not.toBe(before);
      expect(after.port).toBe(k.record().port);

      const admin2 = kafka.admin();
      await admin2.connect();
      const ends = await admin2.fetchTopicOffsets(topic);
      expect(ends[0]!.high).toBe('10');
      const committed = await admin2.fetchOffsets({ groupId: 'g', topics: [topic] });
      expect(committed[0]!.partitions[0]!.offset).toBe('4');
      await admin2.disconnect();
    } finally {
      await k.dispose();
    }
  });

  it('FerretDB keeps its data over a stop/start and refuses connections while down', async () => {
    const m = await launchPrivateService('mongo');
    const client = new MongoClient(m.address, { serverSelectionTimeoutMS: 1500 });
    try {
      await client.connect();
      await client
        .db('outage')
        .collection('c')
        .insertOne({ _id: 'kept' } as never);
      await stopService(m.name);
      const down = await client
        .db('outage')
        .collection('c')
        .findOne({})
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(down).toBeInstanceOf(Error);
      await restartService(m.name); // stop (no-op: already stopped) + start
      const doc = await client
        .db('outage')
        .collection('c')
        .findOne({ _id: 'kept' } as never);
      expect(doc).toEqual({ _id: 'kept' });
    } finally {
      await client.close();
      await m.dispose();
    }
  });
});

describe('FerretDB with the mongodb driver', () => {
  let client: MongoClient;
  let db: Db;
  beforeAll(async () => {
    client = new MongoClient(getServices().mongo.url, { serverSelectionTimeoutMS: 10_000 });
    await client.connect();
    db = client.db(`smoke_${suffix()}`);
  });
  afterAll(async () => {
    await db?.dropDatabase().catch(() => {});
    await client?.close();
  });

  it('insertMany ordered:false keeps going past duplicate keys', async () => {
    const col = db.collection<{ _id: number; v: string }>('events');
    const docs = [1, 2, 2, 3, 3, 4].map((id, n) => ({ _id: id, v: `v${n}` }));
    const error = await col.insertMany(docs, { ordered: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    const bulk = error as MongoBulkWriteError;
    expect(bulk.result.insertedCount).toBe(4);
    const writeErrors = Array.isArray(bulk.writeErrors) ? bulk.writeErrors : [bulk.writeErrors];
    expect(writeErrors.map((w) => w.code)).toEqual([11000, 11000]);
    expect(await col.countDocuments()).toBe(4);
  });

  it('unique index, upserts with $setOnInsert/$min, sorted find, count and delete', async () => {
    const col = db.collection<{ _id?: unknown; userId: string; firstSeen?: Date; lastSeen?: Date; minScore?: number; n?: number }>('profiles');
    expect(await col.createIndex({ userId: 1 }, { unique: true, name: 'user_unique' })).toBe('user_unique');
    await col.insertOne({ userId: 'u-dup' });
    const dup = await col.insertOne({ userId: 'u-dup' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(MongoServerError);
    expect((dup as MongoServerError).code).toBe(11000);

    const t = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));
    const upsert = (userId: string, at: Date, score: number) => ({
      updateOne: {
        filter: { userId },
        update: {
          $setOnInsert: { firstSeen: at },
          $min: { minScore: score },
          $max: { lastSeen: at },
          $inc: { n: 1 },
        },
        upsert: true,
      },
    });
    const res = await col.bulkWrite([upsert('a', t(5), 50), upsert('b', t(7), 70), upsert('a', t(9), 20), upsert('a', t(1), 90)], {
      ordered: true,
    });
    expect(res.upsertedCount).toBe(2);
    expect(res.matchedCount).toBe(2);
    const a = await col.findOne({ userId: 'a' }, { projection: { _id: 0 } });
    expect(a).toEqual({ userId: 'a', firstSeen: t(5), minScore: 20, lastSeen: t(9), n: 3 });

    const sorted = await col.find({ n: { $gte: 1 } }, { sort: { minScore: -1 }, projection: { _id: 0, userId: 1 } }).toArray();
    expect(sorted.map((d) => d.userId)).toEqual(['b', 'a']);
    expect(await col.countDocuments({ userId: { $in: ['a', 'b', 'u-dup'] } })).toBe(3);
    const del = await col.deleteMany({ n: { $gte: 1 } });
    expect(del.deletedCount).toBe(2);
    expect(await col.countDocuments()).toBe(1);
  });

  // What FerretDB 1.24 (SQLite backend) does not do. If one of these starts to
  // pass, FerretDB gained the feature: update the harness notes.
  it('documents FerretDB limitations the application must not rely on', async () => {
    const col = db.collection('limits');
    await col.insertMany([
      { a: 1, g: 'x' },
      { a: 2, g: 'x' },
    ]);
    const notImplemented = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => null,
        (err: unknown) => err,
      );
      expect(e, 'expected FerretDB to refuse this').toBeInstanceOf(MongoServerError);
      return e as MongoServerError;
    };
    // change streams, transactions
    expect((await notImplemented(col.watch().tryNext())).code).toBe(238);
    const session = client.startSession();
    try {
      await notImplemented(session.withTransaction(() => col.insertOne({ tx: 1 }, { session }).then(() => undefined)));
    } finally {
      await session.endSession();
    }
    // aggregation: most stages and accumulators beyond $sum/$count
    expect((await notImplemented(col.aggregate([{ $lookup: { from: 'x', localField: 'a', foreignField: 'a', as: 'j' } }]).toArray())).code).toBe(238);
    expect((await notImplemented(col.aggregate([{ $group: { _id: '$g', m: { $max: '$a' } } }]).toArray())).code).toBe(238);
    expect((await notImplemented(col.aggregate([{ $merge: { into: 'other' } }]).toArray())).code).toBe(238);
    expect(await col.aggregate([{ $group: { _id: '$g', s: { $sum: '$a' } } }]).toArray()).toEqual([{ _id: 'x', s: 3 }]);
    expect(await col.aggregate([{ $group: { _id: '$g', c: { $count: {} } } }]).toArray()).toEqual([{ _id: 'x', c: 2 }]);
    // bug: with several accumulators in one $group only the first is computed, the others come back 0
    expect(await col.aggregate([{ $group: { _id: '$g', s: { $sum: '$a' }, c: { $sum: 1 } } }]).toArray()).toEqual([{ _id: 'x', s: 3, c: 0 }]);
    // query/update features
    expect((await notImplemented(col.find({ $expr: { $gt: ['$a', 1] } }).toArray())).code).toBe(238);
    expect((await notImplemented(col.updateOne({ a: 1 }, [{ $set: { b: 1 } }]))).code).toBe(14);
    // index kinds/options
    expect((await notImplemented(col.createIndex({ ts: 1 }, { expireAfterSeconds: 60 }))).code).toBe(238);
    expect((await notImplemented(col.createIndex({ p: 1 }, { unique: true, partialFilterExpression: { p: { $exists: true } } }))).code).toBe(238);
  });
});

describe('ClickHouse HTTP (chdb) with @clickhouse/client', () => {
  let client: ClickHouseClient;
  const db = `smoke_${suffix()}`;
  beforeAll(async () => {
    // (errors are expected in these tests: keep the client's own error log quiet)
    client = createClient({ url: getServices().clickhouse.url, log: { level: ClickHouseLogLevel.OFF } });
    await client.command({ query: `CREATE DATABASE ${db}` });
  });
  afterAll(async () => {
    await client?.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => {});
    await client?.close();
  });

  it('pings', async () => {
    expect((await client.ping()).success).toBe(true);
    expect((await client.ping({ select: true })).success).toBe(true);
  });

  it('creates a day-partitioned MergeTree, inserts JSONEachRow, binds parameters server-side', async () => {
    await client.command({
      query: `CREATE TABLE ${db}.events (ts DateTime64(3, 'UTC'), user_id String, kind LowCardinality(String), n UInt32)
              ENGINE = MergeTree PARTITION BY toDate(ts) ORDER BY (user_id, ts)`,
    });
    const rows = Array.from({ length: 30 }, (_, i) => ({
      ts: `2024-03-0${1 + (i % 3)} 10:00:0${i % 10}.000`,
      user_id: `u${i % 5}`,
      kind: i % 2 ? 'view' : 'click',
      n: i,
    }));
    const ins = await client.insert({ table: `${db}.events`, values: rows, format: 'JSONEachRow' });
    expect(ins.executed).toBe(true);
    expect(ins.summary?.written_rows).toBe('30');

    const parts = await client.query({
      query: `SELECT partition, sum(rows) AS rows FROM system.parts WHERE database = {db:String} AND table = 'events' AND active GROUP BY partition ORDER BY partition`,
      query_params: { db },
      format: 'JSONEachRow',
    });
    expect(await parts.json()).toEqual([
      { partition: '2024-03-01', rows: '10' },
      { partition: '2024-03-02', rows: '10' },
      { partition: '2024-03-03', rows: '10' },
    ]);

    const byUser = async (u: string) =>
      (
        await client
          .query({
            query: `SELECT count() AS c FROM ${db}.events WHERE user_id = {u:String}`,
            query_params: { u },
            format: 'JSONEachRow',
          })
          .then((r) => r.json<{ c: string }>())
      )[0]!.c;
    expect(await byUser('u1')).toBe('6');
    expect(await byUser("x' OR '1'='1")).toBe('0'); // bound, not spliced
    expect(await byUser("u1' --")).toBe('0');

    const typed = await client.query({
      query: 'SELECT {s:String} AS s, {a:Array(String)} AS a, {t:DateTime64(3)} AS t, {m:Map(String, UInt8)} AS m, {x:Nullable(UInt8)} AS x',
      query_params: { s: "tab\there 'quoted' back\\slash", a: ["it's", 'b\\c'], t: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), m: { "k'1": 1 }, x: null },
      format: 'JSONEachRow',
    });
    expect(await typed.json()).toEqual([{ s: "tab\there 'quoted' back\\slash", a: ["it's", 'b\\c'], t: '2024-01-02 03:04:05.006', m: { "k'1": 1 }, x: null }]);
  });

  it('streams a large SELECT', async () => {
    const rs = await client.query({
      query: 'SELECT number AS n, toString(number) AS s FROM system.numbers LIMIT {limit:UInt32}',
      query_params: { limit: 300_000 },
      format: 'JSONCompactEachRow',
    });
    let count = 0;
    let sum = 0n;
    for await (const rows of rs.stream()) {
      for (const row of rows) {
        const [n] = row.json<[string, string]>();
        count++;
        sum += BigInt(n);
      }
    }
    expect(count).toBe(300_000);
    expect(sum).toBe((299_999n * 300_000n) / 2n);
  });

  it('replaces a partition from a staging table', async () => {
    const ddl = (t: string) => client.command({ query: `CREATE TABLE ${db}.${t} (day Date, k String, v UInt32) ENGINE = MergeTree PARTITION BY day ORDER BY k` });
    await ddl('daily');
    await ddl('daily_staging');
    await client.insert({
      table: `${db}.daily`,
      values: [
        { day: '2024-05-01', k: 'a', v: 1 },
        { day: '2024-05-02', k: 'a', v: 2 },
        { day: '2024-05-02', k: 'b', v: 3 },
      ],
      format: 'JSONEachRow',
    });
    await client.insert({ table: `${db}.daily_staging`, values: [{ day: '2024-05-02', k: 'c', v: 30 }], format: 'JSONEachRow' });
    await client.command({ query: `ALTER TABLE ${db}.daily REPLACE PARTITION '2024-05-02' FROM ${db}.daily_staging` });
    const rs = await client.query({ query: `SELECT toString(day) AS day, k, v FROM ${db}.daily ORDER BY day, k`, format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([
      { day: '2024-05-01', k: 'a', v: 1 },
      { day: '2024-05-02', k: 'c', v: 30 },
    ]);
  });

  it('raises ClickHouseError for bad SQL, unknown tables and errors mid-stream', async () => {
    // (lower case: the client takes the first upper-case word in parentheses as the error name)
    const syntax = await client.query({ query: 'select * fromm system.one' }).catch((e: unknown) => e);
    expect(syntax).toBeInstanceOf(ClickHouseError);
    expect((syntax as ClickHouseError).code).toBe('62');
    expect((syntax as ClickHouseError).type).toBe('SYNTAX_ERROR');

    const unknown = await client.command({ query: `SELECT * FROM ${db}.nope` }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ClickHouseError);
    expect((unknown as ClickHouseError).type).toBe('UNKNOWN_TABLE');

    const multi = await client.command({ query: 'SELECT 1; SELECT 2' }).catch((e: unknown) => e);
    expect(multi).toBeInstanceOf(ClickHouseError);

    // Small blocks: the engine runs at most a few blocks ahead of the reader (its output queue is
    // bounded), so the first block is always sent before the throw, however loaded the machine.
    const rs = await client.query({
      query: "SELECT number, throwIf(number = 300000, 'boom') AS t FROM system.numbers LIMIT 400000 SETTINGS max_block_size = 1000",
      format: 'JSONCompactEachRow',
    });
    const midStream = await (async () => {
      for await (const rows of rs.stream()) void rows;
    })().then(
      () => null,
      (e: unknown) => e,
    );
    expect(midStream).toBeInstanceOf(ClickHouseError);
    expect((midStream as ClickHouseError).type).toBe('FUNCTION_THROW_IF_VALUE_IS_NON_ZERO');
  });

  it('handles compressed requests and responses, settings, sessions and query ids', async () => {
    const gz = createClient({
      url: getServices().clickhouse.url,
      compression: { request: true, response: true },
      clickhouse_settings: { max_threads: 1 },
    });
    try {
      await gz.command({ query: `CREATE TABLE ${db}.gz (k UInt32) ENGINE = MergeTree ORDER BY k` });
      await gz.insert({ table: `${db}.gz`, values: Array.from({ length: 1000 }, (_, k) => ({ k })), format: 'JSONEachRow' });
      const rs = await gz.query({ query: `SELECT count() AS c, getSetting('max_threads') AS t FROM ${db}.gz`, format: 'JSONEachRow', query_id: 'smoke-qid' });
      expect(rs.query_id).toBe('smoke-qid');
      expect(rs.response_headers['content-encoding']).toBe('gzip');
      const [row] = await rs.json<{ c: string; t: number }>();
      expect(row!.c).toBe('1000'); // UInt64 quoted in JSON, as a ClickHouse server does
      expect(Number(row!.t)).toBe(1);
    } finally {
      await gz.close();
    }
    // settings do not leak from one request to the next
    const rs = await client.query({ query: "SELECT getSetting('max_threads') = 1 AS one", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ one: 0 }]);
    // a session keeps its temporary tables
    const session_id = `smoke-${suffix()}`;
    await client.command({ query: 'CREATE TEMPORARY TABLE tmp (x UInt8)', session_id });
    await client.command({ query: 'INSERT INTO tmp VALUES (7)', session_id });
    const tmp = await client.query({ query: 'SELECT x FROM tmp', format: 'JSONEachRow', session_id });
    expect(await tmp.json()).toEqual([{ x: 7 }]);
  });

  it('honours the client database option and multipart parameters', async () => {
    const c = createClient({ url: getServices().clickhouse.url, database: db, use_multipart_params: true });
    try {
      await c.command({ query: 'CREATE TABLE plain (id UInt64, s String) ENGINE = MergeTree ORDER BY id' });
      await c.insert({
        table: 'plain',
        values: [
          { id: 1, s: 'a' },
          { id: 2, s: "b'\n" },
        ],
        columns: ['id', 's'],
        format: 'JSONEachRow',
      });
      const rs = await c.query({
        query: 'SELECT id, s, currentDatabase() AS d FROM plain WHERE s IN {ss:Array(String)} ORDER BY id',
        query_params: { ss: ['a', "b'\n"] },
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([
        { id: '1', s: 'a', d: db },
        { id: '2', s: "b'\n", d: db },
      ]);
    } finally {
      await c.close();
    }
  });

  it('survives a crash and restart on the same data directory (private instance)', async () => {
    const ch = await launchPrivateService('clickhouse');
    const c = createClient({ url: ch.address });
    try {
      await c.command({ query: 'CREATE TABLE kept (k UInt32) ENGINE = MergeTree ORDER BY k' });
      await c.insert({ table: 'kept', values: [{ k: 1 }, { k: 2 }], format: 'JSONEachRow' });
      await ch.restart({ signal: 'SIGKILL' });
      const rs = await c.query({ query: 'SELECT sum(k) AS s FROM kept', format: 'JSONEachRow' });
      expect(await rs.json()).toEqual([{ s: '3' }]);
      const impatient = createClient({ url: ch.address, request_timeout: 1500, log: { level: ClickHouseLogLevel.OFF } });
      ch.pause();
      const hung = await impatient.ping().then((r) => r.success);
      ch.resume();
      await impatient.close();
      expect(hung).toBe(false);
      expect((await c.ping()).success).toBe(true);
    } finally {
      await c.close();
      await ch.dispose();
    }
  });
});
