// run --source kafka against the real services: Kafka 3.9 and 4.x brokers, FerretDB as the
// MongoDB raw store, ClickHouse over HTTP. What the stores hold after consuming a topic must
// equal what the embedded default derives from the same file — after a clean run, after the
// consumer was SIGKILLed mid-ingest and restarted (alone, and as one of two in a group), and
// after the raw store was down for a few seconds mid-ingest.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../tools/generator/generate.js';
import { getServices, launchPrivateService, type PrivateService } from './harness/services.js';
import { runCli, type SpawnedCli, spawnCli } from './helpers/cli.js';
import { embeddedExports } from './helpers/embedded-expected.js';
import { normaliseExport } from './helpers/export-normalise.js';
import { type ServerSetup as Setup, writeServerConfig } from './helpers/server-config.js';

const { Kafka, logLevel } = kafkajs;
const execFileAsync = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const KINDS = ['sessions', 'events', 'profiles', 'rejected', 'journeys', 'labels', 'flags'] as const;
/** Small batches: a run is many batches, so kills and outages land mid-ingest. */
const BATCH_SIZE = 150;

const work = mkdtempSync(join(tmpdir(), 'jc-kafka-'));
const lines = [...generateEvents({ users: 60, seed: 42, buggyRelease: true })];
const input = join(work, 'events.ndjson');
writeFileSync(input, `${lines.join('\n')}\n`);
const baseConfig = `${readFileSync(join(FIXTURES, 'journeyctl.yaml'), 'utf8')}\npipeline:\n  batch_size: ${BATCH_SIZE}\n`;
let expected: Record<string, string>;
/** The generated events are dated January 2026; a time after this is when a line was read. */
const testStarted = Date.now() - 60_000;

/** A fresh topic, group, Mongo database and ClickHouse database, in one config file. */
function setup(brokers: string[], mongoUrl?: string, clickhouseUrl?: string): Setup {
  return writeServerConfig({ work, baseConfig, prefix: 'kp', brokers, mongoUrl, clickhouseUrl });
}

async function cli(args: string[]) {
  const result = await runCli(args);
  expect(result.code, `journeyctl ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result;
}

/** migrate, then `produceNext()` puts the next of `count` consecutive parts of the file onto the topic and returns how many lines are on it. */
async function prepareInParts(s: Setup, count: number, source = lines): Promise<{ produceNext(): Promise<number> }> {
  await cli(['migrate', '--config', s.config, '--partitions', '3', '--output', 'ndjson']);
  let part = 0;
  return {
    async produceNext() {
      const from = Math.floor((source.length * part) / count);
      const to = Math.floor((source.length * (part + 1)) / count);
      const file = join(work, `${s.topic}-part-${part}.ndjson`);
      writeFileSync(file, `${source.slice(from, to).join('\n')}\n`);
      part += 1;
      const produced = await cli(['produce', '--config', s.config, '--input', file, '--output', 'json']);
      expect(JSON.parse(produced.stdout)).toMatchObject({ topic: s.topic, messages: to - from });
      return to;
    },
  };
}

/** migrate (topic with 3 partitions, indexes, tables), then the whole file onto the topic. */
async function prepare(s: Setup): Promise<void> {
  await (await prepareInParts(s, 1)).produceNext();
}

type Consumer = SpawnedCli;

function startConsumer(s: Setup): Consumer {
  return spawnCli(['run', '--source', 'kafka', '--config', s.config, '--output', 'json', '--no-progress']);
}

async function stopGracefully(consumer: Consumer): Promise<Record<string, unknown>> {
  // Its signal handlers are in place once it consumes (a signal before that ends it the default way).
  const deadline = Date.now() + 30_000;
  while (!/joined group/.test(consumer.stderr())) {
    expect(Date.now(), consumer.stderr()).toBeLessThan(deadline);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  consumer.child.kill('SIGTERM');
  const result = await consumer.exit;
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** Waits until the consumer's stderr has `times` matches of `pattern` (a global regex). */
async function waitForLog(consumer: Consumer, pattern: RegExp, times: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((consumer.stderr().match(pattern) ?? []).length < times) {
    expect(Date.now(), consumer.stderr()).toBeLessThan(deadline);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function killConsumer(consumer: Consumer): Promise<void> {
  consumer.child.kill('SIGKILL');
  await consumer.exit;
}

/** One connected admin client per broker for the whole file (polling offsets every 200 ms). */
const admins = new Map<string, Promise<kafkajs.Admin>>();
function admin(brokers: string[]): Promise<kafkajs.Admin> {
  const key = brokers.join(',');
  let connected = admins.get(key);
  if (!connected) {
    const client = new Kafka({ clientId: 'kafka-pipeline-test', brokers, logLevel: logLevel.NOTHING }).admin();
    connected = client.connect().then(() => client);
    admins.set(key, connected);
  }
  return connected;
}
afterAll(async () => {
  for (const connected of admins.values()) await (await connected).disconnect().catch(() => {});
});

/** Committed offsets of the group and the topic's end, per partition (the group coordinator may need a moment). */
async function offsets(s: Setup): Promise<{ committed: Map<number, number>; end: Map<number, number> }> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const a = await admin(s.brokers);
      const end = new Map((await a.fetchTopicOffsets(s.topic)).map((p) => [p.partition, Number(p.high)]));
      const committed = new Map(((await a.fetchOffsets({ groupId: s.group, topics: [s.topic] }))[0]?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]));
      return { committed, end };
    } catch (error) {
      if (attempt === 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** Waits until the group has committed at least `atLeast` messages (default: all of them). */
async function waitCommitted(s: Setup, atLeast?: number, timeoutMs = 90_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { committed, end } = await offsets(s);
    const done = sum(committed);
    if (done >= (atLeast ?? sum(end))) return done;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${sum(end)} messages committed after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The exports a user would get, with the one thing no re-run can reproduce made comparable. */
const normalise = (kind: string, text: string) => normaliseExport(kind, text, testStarted);

async function snapshotServers(s: Setup): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of KINDS) out[kind] = normalise(kind, (await cli(['export', kind, '--config', s.config, '--output', 'ndjson'])).stdout);
  return out;
}

function expectSameAsEmbedded(actual: Record<string, string>): void {
  for (const kind of KINDS) expect(actual[kind], `export ${kind}`).toBe(expected[kind]);
}

/** A small seeded generator, so a failing kill schedule can be replayed (the seed is in the test name). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

beforeAll(async () => {
  expected = await embeddedExports({ work, baseConfig, input, kinds: KINDS, readAfter: testStarted });
}, 120_000);

describe.each(['kafka39', 'kafka4'] as const)('run --source kafka (%s) into MongoDB + ClickHouse', (broker) => {
  it('stores exactly what the embedded run derives from the same file', async () => {
    const s = setup(getServices()[broker].brokers);
    await prepare(s);
    const consumer = startConsumer(s);
    await waitCommitted(s);
    const summary = await stopGracefully(consumer);
    expect(summary).toMatchObject({ events_read: lines.length });
    expect(consumer.stderr()).toMatch(/joined group/);
    expectSameAsEmbedded(await snapshotServers(s));
    // doctor sees every engine healthy, the topic and a group with no lag.
    const doctor = await cli(['doctor', '--config', s.config, '--output', 'json']);
    const checks = JSON.parse(doctor.stdout) as Array<{ component: string; check: string; status: string; detail: string }>;
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.find((c) => c.check === 'consumer group')?.detail).toContain('(lag 0)');
  }, 150_000);
});

describe('crashes (Kafka 4)', () => {
  const seed = Number(process.env.JOURNEY_TEST_SEED ?? Date.now() % 100_000);

  // The topic is produced in parts, the next part only after a kill: a consumer can drain a few
  // thousand events in a second, so with the whole topic there up front a kill "mid-ingest" could
  // land after the last commit. Each kill hits a consumer with events still to come, as in production.
  it(`a consumer SIGKILLed at random points during ingest and restarted ends with the clean result (seed ${seed})`, async () => {
    const random = seeded(seed);
    const s = setup(getServices().kafka4.brokers);
    const parts = await prepareInParts(s, 4);
    let committed = 0;
    for (let kill = 0; kill < 3; kill += 1) {
      const produced = await parts.produceNext();
      const consumer = startConsumer(s);
      // Some progress first (the run joined the group and stored batches), then a random extra moment.
      committed = await waitCommitted(s, Math.min(committed + BATCH_SIZE, produced));
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 600)));
      await killConsumer(consumer);
      const after = sum((await offsets(s)).committed);
      expect(after).toBeGreaterThanOrEqual(committed); // a commit is never taken back
      expect(after).toBeLessThan(lines.length);
      committed = after;
    }
    expect(await parts.produceNext()).toBe(lines.length);
    const last = startConsumer(s);
    await waitCommitted(s);
    await stopGracefully(last);
    expectSameAsEmbedded(await snapshotServers(s));
  }, 420_000); // generous: four consumer starts and rebalances, slow on a loaded 2-core machine

  it(`two consumers in one group, each SIGKILLed once mid-ingest and restarted, end with the clean result (seed ${seed})`, async () => {
    const random = seeded(seed + 1);
    const s = setup(getServices().kafka4.brokers);
    const parts = await prepareInParts(s, 3);
    let produced = await parts.produceNext();
    const consumers = [startConsumer(s), startConsumer(s)];
    let committed = await waitCommitted(s, BATCH_SIZE);
    for (const index of [0, 1]) {
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 600)));
      await killConsumer(consumers[index]!);
      const after = sum((await offsets(s)).committed);
      expect(after).toBeGreaterThanOrEqual(committed);
      expect(after).toBeLessThan(lines.length);
      produced = await parts.produceNext();
      consumers[index] = startConsumer(s);
      committed = await waitCommitted(s, Math.min(after + BATCH_SIZE, produced));
    }
    expect(produced).toBe(lines.length);
    await waitCommitted(s);
    const summaries = await Promise.all(consumers.map((consumer) => stopGracefully(consumer)));
    // Between them, after the kills, the two read the topic's rest (at least once).
    expect(summaries.every((summary) => typeof summary.events_read === 'number')).toBe(true);
    expectSameAsEmbedded(await snapshotServers(s));
  }, 420_000); // generous: four consumer starts and rebalances, slow on a loaded 2-core machine
});

describe('a raw-store outage mid-ingest (Kafka 4, private FerretDB)', () => {
  let ferret: PrivateService;
  beforeAll(async () => {
    ferret = await launchPrivateService('mongo');
  }, 60_000);
  afterAll(async () => {
    await ferret?.dispose();
  });

  it('waits, commits nothing past what is stored, and loses nothing', async () => {
    // A store that is down is given up on after 3 s (the driver's default is 10 s) so the test is quicker.
    const s = setup(getServices().kafka4.brokers, `${ferret.address}?serverSelectionTimeoutMS=3000`);
    const parts = await prepareInParts(s, 2);
    const half = await parts.produceNext();
    const consumer = startConsumer(s);
    expect(await waitCommitted(s)).toBe(half);
    // The raw store goes down, and the second half arrives meanwhile: the consumer has work it cannot store.
    await ferret.stop();
    await parts.produceNext();
    // (Once the driver gives up reaching the server, the wait is announced.)
    const announced = Date.now() + 30_000;
    while (!/waiting for the raw store \(mongodb\): .*Kafka consumption paused/.test(consumer.stderr())) {
      expect(Date.now(), consumer.stderr()).toBeLessThan(announced);
      expect(sum((await offsets(s)).committed)).toBe(half);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(sum((await offsets(s)).committed)).toBe(half);
    // Back before the consumer gives up: it resumes by itself and stores the rest.
    await ferret.start();
    await waitCommitted(s);
    expect(consumer.stderr()).toMatch(/the raw store \(mongodb\) is back after/);
    // Down again and the consumer dies while waiting: what is committed is stored, the rest is re-delivered.
    await ferret.stop();
    await killConsumer(consumer);
    await ferret.start();
    await expectStoredUpTo(s, (await offsets(s)).committed);
    const resumed = startConsumer(s);
    await waitCommitted(s);
    await stopGracefully(resumed);
    expectSameAsEmbedded(await snapshotServers(s));
  }, 420_000); // generous: four consumer starts and rebalances, slow on a loaded 2-core machine
});

describe('an analytics-store outage mid-ingest (Kafka 4, private ClickHouse)', () => {
  let clickhouse: PrivateService;
  beforeAll(async () => {
    clickhouse = await launchPrivateService('clickhouse');
  }, 60_000);
  afterAll(async () => {
    await clickhouse?.dispose();
  });

  it('waits to derive with consumption paused, resumes by itself, survives a kill while waiting, and loses nothing', async () => {
    const s = setup(getServices().kafka4.brokers, undefined, clickhouse.address);
    const parts = await prepareInParts(s, 3);
    const waitingLine = /waiting for the analytics store \(clickhouse\): .*Kafka consumption paused/g;
    const firstPart = await parts.produceNext();
    const consumer = startConsumer(s);
    await waitCommitted(s, firstPart);
    // Sessions cannot be written, but raw events still can: what is committed is stored, and the
    // consumer stops fetching while it waits (its derive is part of the batch loop).
    await clickhouse.stop();
    const twoParts = await parts.produceNext();
    await waitForLog(consumer, waitingLine, 1);
    const duringOutage = (await offsets(s)).committed;
    await expectStoredUpTo(s, duringOutage, twoParts);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(sum((await offsets(s)).committed)).toBe(sum(duringOutage));
    // Back: it resumes by itself.
    await clickhouse.start();
    await waitCommitted(s, twoParts);
    await waitForLog(consumer, /the analytics store \(clickhouse\) is back after/g, 1);
    // Down again with more to derive, and the consumer dies while it waits: the users it stored but
    // could not derive stay marked in the raw store, and the next consumer derives them.
    await clickhouse.stop();
    expect(await parts.produceNext()).toBe(lines.length);
    await waitForLog(consumer, waitingLine, 2);
    await killConsumer(consumer);
    await clickhouse.start();
    await expectStoredUpTo(s, (await offsets(s)).committed);
    const resumed = startConsumer(s);
    await waitCommitted(s);
    await stopGracefully(resumed);
    expectSameAsEmbedded(await snapshotServers(s));
  }, 420_000);
});

describe.each(['kafka39', 'kafka4'] as const)('SIGTERM to a busy consumer (%s)', (broker) => {
  const seed = Number(process.env.JOURNEY_TEST_SEED ?? Date.now() % 100_000);
  const TRIALS = 20;
  const RESERVE = 5_000;
  /** The streaming deployment's terminationGracePeriodSeconds: past it Kubernetes SIGKILLs the pod. */
  const GRACE_MS =
    1_000 * Number(/terminationGracePeriodSeconds: (\d+)/.exec(readFileSync(join(import.meta.dirname, '..', 'deploy', 'k8s', 'overlays', 'streaming', 'run-deployment.yaml'), 'utf8'))![1]);

  // Each trial starts a consumer on the topic's rest and sends SIGTERM at a seeded moment chosen
  // by what it has done: as soon as it joined the group, or once it committed a seeded number of
  // lines more. The topic is larger than the shared file, so every stop finds work still to do.
  it(`exits 0 with its summary at ${TRIALS} seeded moments, commits nothing unstored, and a restart ends with the file's result (seed ${seed})`, async () => {
    const big = await bigInput();
    const total = big.lines.length;
    const random = seeded(seed + (broker === 'kafka4' ? 1 : 0));
    const s = setup(getServices()[broker].brokers);
    // Small batches: many commits to be caught in, and a stop's batches in hand (about nine) are few lines.
    writeFileSync(s.config, readFileSync(s.config, 'utf8').replace(`batch_size: ${BATCH_SIZE}`, 'batch_size: 50'));
    await (await prepareInParts(s, 1, big.lines)).produceNext();
    const topic = await readTopic(s, total);
    let committed = 0;
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const consumer = startConsumer(s);
      await waitForLog(consumer, /joined group/g, 1);
      // A fifth of the stops come at the join (fetching, nothing stored yet); the rest mid-stream,
      // spread so the topic's rest lasts for the trials to come. RESERVE lines are never waited
      // for: a stop finishes the batches it has in hand, and a rest small enough to be in hand
      // whole would leave the last trials stopping an idle consumer.
      const span = Math.floor(Math.max(0, total - RESERVE - committed) / (3 * (TRIALS - trial)));
      if (random() >= 0.2) await waitCommitted(s, committed + 1 + Math.floor(random() * span));
      consumer.child.kill('SIGTERM');
      const exited = (ms: number) => Promise.race([consumer.exit, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))]);
      const result = await exited(GRACE_MS);
      const context = `trial ${trial}: ${consumer.stderr()}`;
      if (result === null) {
        // Slow or hung? Another minute tells them apart in the failure message.
        const late = await exited(60_000);
        consumer.child.kill('SIGKILL');
        throw new Error(`no exit within ${GRACE_MS / 1000} s of SIGTERM (${late ? 'it exited later' : 'still running a minute later'}; stdout: ${late?.stdout ?? consumer.stdout()}; ${context})`);
      }
      expect(result.code, context).toBe(0);
      expect(result.stderr).toMatch(/SIGTERM: stopping/);
      expect(JSON.parse(result.stdout), context).toMatchObject({ events_read: expect.any(Number), accepted: expect.any(Number) });
      const after = (await offsets(s)).committed;
      expect(sum(after), context).toBeGreaterThanOrEqual(committed); // a commit is never taken back
      expect(sum(after), `trial ${trial} found no work left: the test stopped an idle consumer`).toBeLessThan(total);
      await expectStored(s, topic, after);
      console.log(`${broker} trial ${trial}: SIGTERM with ${sum(after) - committed} more committed; ${total - sum(after)} left`);
      committed = sum(after);
    }
    const last = startConsumer(s);
    // The rest of the topic (up to a third of it) on a loaded machine: a bound for a stuck consumer, with what it said.
    await waitCommitted(s, undefined, 300_000).catch((error: Error) => {
      throw new Error(`${error.message}; the restarted consumer said: ${last.stderr()}`);
    });
    await stopGracefully(last);
    const actual = await snapshotServers(s);
    for (const kind of KINDS) expect(actual[kind], `export ${kind}`).toBe(big.expected[kind]);
  }, 900_000); // 20 consumer starts and stops; on an idle machine about 3 minutes
});

/** A generated file about seven times the shared one, and what the embedded default stores from it (run in child processes: this process has its embedded store). */
let bigInputOnce: Promise<{ lines: string[]; expected: Record<string, string> }> | undefined;
function bigInput(): Promise<{ lines: string[]; expected: Record<string, string> }> {
  bigInputOnce ??= (async () => {
    const big = [...generateEvents({ users: 300, seed: 43, buggyRelease: true })];
    const file = join(work, 'big.ndjson');
    writeFileSync(file, `${big.join('\n')}\n`);
    const config = join(work, 'big.yaml');
    writeFileSync(config, `${baseConfig}\ndata_dir: ${join(work, 'big-embedded')}\n`);
    const child = async (args: string[]) => (await execFileAsync(process.execPath, [BIN, ...args, '--config', config], { env: { PATH: process.env.PATH }, maxBuffer: 1 << 30 })).stdout;
    await child(['run', '--input', file, '--output', 'json', '--no-progress']);
    const expected: Record<string, string> = {};
    for (const kind of KINDS) expected[kind] = normalise(kind, await child(['export', kind, '--output', 'ndjson']));
    return { lines: big, expected };
  })();
  return bigInputOnce;
}

/** Every message below a partition's committed offset is in the raw store (an accepted event or a rejected line); `onTopic`: messages produced so far. */
async function expectStoredUpTo(s: Setup, committed: Map<number, number>, onTopic = lines.length): Promise<void> {
  await expectStored(s, await readTopic(s, onTopic), committed);
}

/** The topic's first `onTopic` messages, by partition and offset (a fresh topic's offsets start at 0). */
async function readTopic(s: Setup, onTopic: number): Promise<Map<number, string[]>> {
  const messages = new Map<number, string[]>();
  const kafka = new Kafka({ clientId: 'kafka-pipeline-test', brokers: s.brokers, logLevel: logLevel.NOTHING });
  const reader = kafka.consumer({ groupId: `${s.group}-audit-${randomBytes(3).toString('hex')}` });
  await reader.connect();
  await reader.subscribe({ topics: [s.topic], fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${seen} messages`)), 60_000);
    void reader
      .run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          seen += 1;
          if (!messages.has(partition)) messages.set(partition, []);
          messages.get(partition)![Number(message.offset)] = message.value!.toString('utf8');
          if (seen === onTopic) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await reader.disconnect();
  return messages;
}

/** Every message of `topic` below its partition's committed offset is in the raw store. */
async function expectStored(s: Setup, topic: Map<number, string[]>, committed: Map<number, number>): Promise<void> {
  const below = [...committed].flatMap(([partition, offset]) => (topic.get(partition) ?? []).slice(0, offset));
  expect(below.length).toBe(sum(committed));
  const client = new MongoClient(s.mongoUrl);
  try {
    const db = client.db(s.database);
    const events = new Set(
      (
        await db
          .collection('raw_events')
          .find({}, { projection: { _id: 1 } })
          .toArray()
      ).map((d) => String(d._id)),
    );
    const rejected = new Set(
      (
        await db
          .collection('rejected')
          .find({}, { projection: { _id: 1 } })
          .toArray()
      ).map((d) => String(d._id)),
    );
    const missing = below.filter((line) => {
      if (rejected.has(createHash('sha256').update(line).digest('hex'))) return false;
      try {
        return !events.has(String((JSON.parse(line) as { messageId?: unknown }).messageId));
      } catch {
        return true;
      }
    });
    expect(missing).toEqual([]);
  } finally {
    await client.close();
  }
}
