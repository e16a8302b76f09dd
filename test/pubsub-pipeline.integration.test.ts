// run --source pubsub against the Pub/Sub emulator (the Google Cloud CLI's, else pstest; see
// docs/decisions/0018-pubsub-source.md), FerretDB as the MongoDB raw store and ClickHouse over
// HTTP. What the stores hold after consuming a subscription must equal what the embedded default
// derives from the same file: after micro-batches, after Pub/Sub delivered messages again because
// their ack deadline expired while a batch was held, and after a SIGKILL mid-run and a restart.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksParser } from '../src/checks/definitions.js';
import { resolveConfig } from '../src/config/config.js';
import { ingestSource } from '../src/services/ingest.js';
import { createPubSubSource } from '../src/sources/pubsub-source.js';
import { openStores } from '../src/stores/open-stores.js';
import { generateEvents } from '../tools/generator/generate.js';
import { getServices, launchPrivateService, type PrivateService } from './harness/services.js';
import { runCli, type SpawnedCli, spawnCli } from './helpers/cli.js';
import { embeddedExports } from './helpers/embedded-expected.js';
import { normaliseExport } from './helpers/export-normalise.js';
import { type ServerSetup, writeServerConfig } from './helpers/server-config.js';

const KINDS = ['sessions', 'events', 'profiles', 'rejected', 'journeys', 'labels', 'flags'] as const;
const PROJECT = 'journeyctl-test';
/** Small batches: a run is many batches, so a kill lands mid-ingest. */
const BATCH_SIZE = 150;

const work = mkdtempSync(join(tmpdir(), 'jc-pubsub-'));
const lines = [...generateEvents({ users: 60, seed: 42, buggyRelease: true })];
const input = join(work, 'events.ndjson');
writeFileSync(input, `${lines.join('\n')}\n`);
const baseConfig = `${readFileSync(join(import.meta.dirname, '..', 'fixtures', 'journeyctl.yaml'), 'utf8')}\npipeline:\n  batch_size: ${BATCH_SIZE}\n`;
/** The generated events are dated January 2026; a time after this is when a line was read. */
const testStarted = Date.now() - 60_000;
let expected: Record<string, string>;
const emulatorHost = () => getServices().pubsub.emulatorHost;
const env = (host = emulatorHost()) => ({ PUBSUB_EMULATOR_HOST: host });

interface Setup extends ServerSetup {
  /** The emulator's host:port (PUBSUB_EMULATOR_HOST). */
  host: string;
  topicName: string;
  subscriptionName: string;
  /** Publishes these lines, each with its event's anonymousId (else userId) as the ordering key, as producers should. */
  publish(part: string[]): Promise<void>;
}

const clients: PubSub[] = [];
afterAll(async () => {
  for (const client of clients) await client.close();
});

/**
 * A fresh topic and subscription (the minimum ack deadline of 10 s, message ordering on unless
 * told), Mongo database and ClickHouse database, in one config file; leases are extended 10 s at
 * a time and at most 300 messages are leased at once.
 */
async function setup(options: { host?: string; ordering?: boolean } = {}): Promise<Setup> {
  const host = options.host ?? emulatorHost();
  const ordering = options.ordering ?? true;
  // (The universe domain said: no search for credentials an emulator does not need.)
  const client = new PubSub({ projectId: PROJECT, apiEndpoint: host, emulatorMode: true, universeDomain: 'googleapis.com' });
  clients.push(client);
  const s = writeServerConfig({ work, baseConfig, prefix: 'ps', brokers: [] });
  const topicName = `projects/${PROJECT}/topics/${s.topic}`;
  const subscriptionName = `projects/${PROJECT}/subscriptions/${s.topic}-sub`;
  writeFileSync(
    s.config,
    `${readFileSync(s.config, 'utf8')}pubsub:\n  project: ${PROJECT}\n  topic: ${s.topic}\n  subscription: ${s.topic}-sub\n  ack_deadline: 10s\n  flow_control: { max_messages: 300 }\n`,
  );
  const [topic] = await client.createTopic(topicName);
  await topic.createSubscription(subscriptionName, { ackDeadlineSeconds: 10, enableMessageOrdering: ordering });
  const publisher = client.topic(topicName, { messageOrdering: ordering, batching: { maxMessages: 500, maxMilliseconds: 20 } });
  const publish = async (part: string[]) =>
    void (await Promise.all(part.map((line) => publisher.publishMessage({ data: Buffer.from(line), ...(ordering ? { orderingKey: orderingKey(line) } : {}) }))));
  return { ...s, host, topicName, subscriptionName, publish };
}

function orderingKey(line: string): string {
  try {
    const event = JSON.parse(line) as { anonymousId?: unknown; userId?: unknown };
    const key = typeof event.anonymousId === 'string' && event.anonymousId ? event.anonymousId : event.userId;
    return typeof key === 'string' ? key.slice(0, 1024) : '';
  } catch {
    return '';
  }
}

async function cli(args: string[]) {
  const result = await runCli(args, { env: env() });
  expect(result.code, `journeyctl ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result;
}

type Run = SpawnedCli;

/** `run --source pubsub` in its own process, as a Deployment or a CronJob runs it. */
function startRun(s: Setup, extra: string[] = []): Run {
  return spawnCli(['run', '--source', 'pubsub', '--config', s.config, '--output', 'json', '--no-progress', ...extra], env(s.host));
}

async function summaryOf(run: Run): Promise<Record<string, unknown>> {
  const result = await run.exit;
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** Lines of the file not in the raw store yet: an event is there by its messageId, a rejected line by its hash. */
async function notStored(s: Setup): Promise<number> {
  const mongo = new MongoClient(s.mongoUrl);
  try {
    const db = mongo.db(s.database);
    const ids = async (collection: string) =>
      new Set(
        (
          await db
            .collection(collection)
            .find({}, { projection: { _id: 1 } })
            .toArray()
        ).map((d) => String(d._id)),
      );
    const [events, rejected] = await Promise.all([ids('raw_events'), ids('rejected')]);
    return lines.filter((line) => {
      if (rejected.has(createHash('sha256').update(line).digest('hex'))) return false;
      try {
        return !events.has(String((JSON.parse(line) as { messageId?: unknown }).messageId));
      } catch {
        return true;
      }
    }).length;
  } finally {
    await mongo.close();
  }
}

/** Polls the raw store until `done(left)` holds for the lines not stored yet. */
async function waitStored(s: Setup, done: (left: number) => boolean, run?: Run, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await notStored(s);
    if (done(left)) return left;
    if (Date.now() > deadline) throw new Error(`${left} of ${lines.length} lines still not stored after ${timeoutMs} ms; the run said: ${run?.stderr() ?? '-'}`);
    // (FerretDB reads whole collections for this: once a second is enough.)
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

const normalise = (kind: string, text: string) => normaliseExport(kind, text, testStarted);

async function expectSameAsEmbedded(s: Setup): Promise<void> {
  for (const kind of KINDS) expect(normalise(kind, (await cli(['export', kind, '--config', s.config, '--output', 'ndjson'])).stdout), `export ${kind}`).toBe(expected[kind]);
}

beforeAll(async () => {
  expected = await embeddedExports({ work, baseConfig, input, kinds: KINDS, readAfter: testStarted });
}, 120_000);

describe(`run --source pubsub into MongoDB + ClickHouse (${process.env.JOURNEY_TEST_PUBSUB_EMULATOR_HOST ? 'emulator' : 'no emulator'})`, () => {
  it('micro-batches (--until-caught-up) store exactly what the embedded run derives from the same file', async () => {
    const s = await setup();
    await s.publish(lines);
    // A micro-batch ends at an empty pull after the last message; one that came back empty while
    // the emulator was slow to deliver leaves the rest to the next, as the next CronJob run would.
    const summaries: Array<Record<string, unknown>> = [];
    do summaries.push(await summaryOf(startRun(s, ['--until-caught-up'])));
    while (summaries.at(-1)!.messages_received !== 0 || (await notStored(s)) > 0);
    expect(summaries.every((summary) => summary.stopped_by === 'caught up')).toBe(true);
    const received = summaries.reduce((sum, summary) => sum + Number(summary.messages_received), 0);
    expect(received).toBeGreaterThanOrEqual(lines.length);
    await expectSameAsEmbedded(s);
  }, 600_000); // generous: on a loaded 2-core machine a run here took up to 5 minutes

  it('messages delivered again after their ack deadline expired under a held batch add nothing', async () => {
    const s = await setup();
    await s.publish(lines);
    const resolved = resolveConfig({ configPath: s.config }, env(s.host), { checks: checksParser() });
    if (!resolved.ok) throw new Error(resolved.errors.join('; '));
    const config = resolved.config;
    const lease = { command: 'pubsub redelivery test', waitMs: 0, log: () => {}, create: true };
    const stores = await openStores(config, lease);
    // Leases are not extended past 1 s: a message held longer comes again once its 10 s ack deadline passes.
    const source = createPubSubSource({
      // All of the file leased at once, so one hold expires it all (not 300 at a time, each after the last).
      pubsub: { ...config.pubsub, flowControl: { maxMessages: 10_000, maxBytes: 100 << 20 } },
      batchSize: config.pipeline.batchSize,
      maxLineBytes: config.pipeline.maxLineBytes,
      log: () => {},
      untilCaughtUp: true,
      maxLeaseExtensionMs: 1_000,
      // A few batches: leases that are never extended make every slow batch come again, so the
      // rest of the file is left to a micro-batch with the usual leases.
      maxEvents: 2 * BATCH_SIZE,
    });
    // The first write is held until Pub/Sub has delivered a message of it (or another one held) again.
    let redelivered!: () => void;
    const firstRedelivery = new Promise<void>((resolve) => (redelivered = resolve));
    source.onRedelivery(() => redelivered());
    const write = stores.raw.writeEncodedBatch.bind(stores.raw);
    let held = false;
    stores.raw.writeEncodedBatch = async (...args: Parameters<typeof write>) => {
      if (!held) {
        held = true;
        await firstRedelivery;
      }
      return write(...args);
    };
    try {
      const report = await ingestSource(config, stores, source, { lease, acceptAllRejected: true });
      expect(source.outcome.redelivered).toBeGreaterThan(0);
      expect(source.outcome.finishedBy).toBe(`max events (${2 * BATCH_SIZE})`);
      expect(report.read).toBeGreaterThan(0);
    } finally {
      await source.close();
      await stores.close();
    }
    // Whatever was still unacknowledged comes once more to the next micro-batch, and adds nothing either.
    while (Number((await summaryOf(startRun(s, ['--until-caught-up']))).messages_received) !== 0);
    expect(await notStored(s)).toBe(0);
    await expectSameAsEmbedded(s);
  }, 600_000); // generous: on a loaded 2-core machine a run here took up to 5 minutes
});

describe('a run SIGKILLed mid-ingest (pstest emulator)', () => {
  // The Google Cloud CLI's emulator (0.8.20) keeps routing messages to a killed subscriber's
  // stream and did not redeliver what it held within minutes (docs/decisions/0018); Pub/Sub and
  // pstest redeliver them once their ack deadline expires, which is what this test relies on.
  // Unordered: pstest advances an ordering key one message per ack round trip.
  let pstest: PrivateService;
  beforeAll(async () => {
    pstest = await launchPrivateService('pubsub', { pstest: true });
  }, 60_000);
  afterAll(async () => {
    await pstest?.dispose();
  });

  it('a run SIGKILLed mid-ingest and restarted ends with the clean result', async () => {
    const s = await setup({ host: pstest.address, ordering: false });
    // Half the file first, the rest after the kill: the killed run always had work still to come.
    const half = Math.floor(lines.length / 2);
    await s.publish(lines.slice(0, half));
    const first = startRun(s);
    // Some of it stored: the run is mid-ingest.
    await waitStored(s, (left) => left < lines.length, first);
    first.child.kill('SIGKILL');
    await first.exit;
    expect(await notStored(s)).toBeGreaterThan(0);
    await s.publish(lines.slice(half));
    // What the killed run held unacknowledged comes again once its lease expires; the restart stores it and the rest.
    const second = startRun(s);
    await waitStored(s, (left) => left === 0, second);
    second.child.kill('SIGTERM');
    const summary = await summaryOf(second);
    expect(summary.stopped_by).toBe('signal');
    expect(second.stderr()).toMatch(/SIGTERM: stopping/);
    await expectSameAsEmbedded(s);
  }, 600_000); // generous: on a loaded 2-core machine a run here took up to 5 minutes
});
