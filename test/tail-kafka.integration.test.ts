import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import type { KafkaConfig } from '../src/config/config.js';
import { openKafkaTail } from '../src/sources/kafka-tail.js';
import { getServices } from './harness/services.js';
import { parseNdjson, runCli } from './helpers/cli.js';

const { Kafka, logLevel, Partitioners } = kafkajs;
const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');
const suffix = () => `${Date.now()}-${randomBytes(3).toString('hex')}`;

function event(i: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: 'track',
    messageId: `k-${i}`,
    event: i % 5 === 0 ? 'order_completed' : 'page_viewed',
    userId: `u-${i % 4}`,
    timestamp: new Date(Date.UTC(2026, 0, 5, 9, 0, i)).toISOString(),
    properties: { plan: i % 2 === 0 ? 'pro' : 'free', n: i, ...(i === 7 ? { email: 'seven@example.com' } : {}) },
    context: { app: { version: i < 10 ? '2.3.0' : '2.3.1' } },
    ...extra,
  });
}

/** Runs the CLI in this process and lets the test watch stdout while it runs. */
function startCli(args: string[], env: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const done = main(['node', 'journeyctl', ...args], { stdout, stderr, stdin: Readable.from([]), env });
  return { done, stdout: () => out, stderr: () => err };
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each([
  ['kafka39', () => getServices().kafka39.brokers],
  ['kafka4', () => getServices().kafka4.brokers],
] as const)('tail --source kafka (%s)', (name, brokers) => {
  const kafka = () => new Kafka({ clientId: `tail-test-${name}`, brokers: brokers(), logLevel: logLevel.NOTHING });
  /** The config's kafka section for these brokers (no TLS, no SASL), as the commands resolve it. */
  const kafkaConfig = (): KafkaConfig => ({ brokers: brokers(), topic: null, group: 'journeyctl', clientId: 'journeyctl', fromBeginning: true, sessionTimeoutMs: 30_000, ssl: false, sasl: null });

  async function topicWith(messages: string[], partitions = 3): Promise<string> {
    const topic = `tail-${name}-${suffix()}`;
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    await admin.disconnect();
    await produce(topic, messages);
    return topic;
  }

  async function produce(topic: string, messages: string[]): Promise<void> {
    const producer = kafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let start = 0; start < messages.length; start += 500) {
      await producer.send({ topic, acks: -1, messages: messages.slice(start, start + 500).map((value, i) => ({ key: `key-${(start + i) % 7}`, value })) });
    }
    await producer.disconnect();
  }

  it('reads every message without joining the pipeline group or committing anything, with filters, redaction and env config', async () => {
    const messages = [...Array.from({ length: 30 }, (_, i) => event(i)), 'not json at all'];
    const topic = await topicWith(messages);
    const groupId = `pipeline-${suffix()}`;
    // The pipeline: a consumer group that read and committed everything and is still connected.
    const pipeline = kafka().consumer({ groupId });
    let joins = 0;
    pipeline.on(pipeline.events.GROUP_JOIN, () => (joins += 1));
    await pipeline.connect();
    await pipeline.subscribe({ topic, fromBeginning: true });
    let consumed = 0;
    await pipeline.run({ eachMessage: async () => void (consumed += 1) });
    await waitFor('the pipeline to consume', () => consumed === messages.length);
    await pipeline.commitOffsets([0, 1, 2].map((partition) => ({ topic, partition, offset: '0' }))).catch(() => {});
    const admin = kafka().admin();
    await admin.connect();
    try {
      await waitFor('the pipeline to commit', async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions.every((p) => Number(p.offset) >= 0));
      const offsetsBefore = await admin.fetchOffsets({ groupId, topics: [topic] });
      const config = join(mkdtempSync(join(tmpdir(), 'jc-tail-kafka-')), 'journeyctl.yaml');
      writeFileSync(config, 'redact: [properties.email]\n');
      const cli = (args: string[]) =>
        runCli(['tail', '--source', 'kafka', '--offset', 'beginning', '--config', config, ...args], { env: { JOURNEY_KAFKA_BROKERS: brokers().join(','), JOURNEY_KAFKA_TOPIC: topic } });

      const all = await cli([]);
      expect(all.code).toBe(0);
      const records = parseNdjson(all.stdout);
      expect(records).toHaveLength(31);
      expect(new Set(records.map((r) => r.message_id))).toEqual(new Set([...Array.from({ length: 30 }, (_, i) => `k-${i}`), null]));
      expect(records.find((r) => r.message_id === null)).toMatchObject({ source: 'kafka', topic, value: null, raw: 'not json at all' });
      const seven = records.find((r) => r.message_id === 'k-7')!;
      expect(seven).toMatchObject({ source: 'kafka', topic, user_id: 'u-3', event: 'page_viewed', app_version: '2.3.0', key: 'key-0', raw: null });
      expect((seven.value as any).properties.email).toBe('[redacted]');
      expect(all.stdout).not.toContain('seven@example.com');
      for (const partition of [0, 1, 2]) {
        const offsets = records.filter((r) => r.partition === partition).map((r) => Number(r.offset));
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      }

      const ids = async (args: string[]) =>
        parseNdjson((await cli(args)).stdout)
          .map((r) => r.message_id)
          .sort();
      expect(await ids(['--event', 'order_completed'])).toEqual(['k-0', 'k-10', 'k-15', 'k-20', 'k-25', 'k-5']);
      expect(await ids(['--user', 'u-1', '--where', 'plan=free', '--app-version', '2.3.1'])).toEqual(['k-13', 'k-17', 'k-21', 'k-25', 'k-29']);
      expect(await ids(['--where', 'n=7'])).toEqual(['k-7']);
      expect(await ids(['--grep', '^not json'])).toEqual([null]);
      expect(await ids(['--user', "x' OR '1'='1"])).toEqual([]);
      expect(await ids(['--where', 'a=1; DROP TABLE events'])).toEqual([]);
      const sampled = await ids(['--sample', '0.5']);
      expect(await ids(['--sample', '0.5'])).toEqual(sampled);
      expect(sampled.length).toBeGreaterThan(5);
      expect(sampled.length).toBeLessThan(26);
      expect(parseNdjson((await cli(['--limit', '4'])).stdout)).toHaveLength(4);
      expect(parseNdjson((await cli(['--offset', '1000'])).stdout)).toHaveLength(0);

      // The pipeline's offsets and membership are untouched, and the tail left no group or offsets behind.
      expect(await admin.fetchOffsets({ groupId, topics: [topic] })).toEqual(offsetsBefore);
      expect(joins).toBe(1);
      const described = await admin.describeGroups([groupId]);
      expect(described.groups[0]!.members).toHaveLength(1);
      const ours = (await admin.listGroups()).groups.filter((g) => g.groupId.startsWith(`journeyctl-tail-${hostname()}-${process.pid}-`));
      for (const group of ours) {
        const offsets = await admin.fetchOffsets({ groupId: group.groupId, topics: [topic] });
        expect(offsets[0]!.partitions.every((p) => p.offset === '-1')).toBe(true);
      }
    } finally {
      await pipeline.disconnect();
      await admin.disconnect();
    }
  });

  it('follows new messages as they are produced, and starts at a time with --since', async () => {
    const topic = await topicWith([event(1), event(2)], 2);
    const env = { JOURNEY_KAFKA_BROKERS: brokers().join(',') };
    const follow = startCli(['tail', '--source', 'kafka', '--topic', topic, '--follow', '--offset', 'beginning', '--limit', '4'], env);
    await waitFor('the first two messages', () => parseNdjson(follow.stdout()).length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const since = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await produce(topic, [event(3), event(4)]);
    expect(await follow.done).toBe(0);
    expect(
      parseNdjson(follow.stdout())
        .map((r) => r.message_id)
        .sort(),
    ).toEqual(['k-1', 'k-2', 'k-3', 'k-4']);
    const later = await runCli(['tail', '--source', 'kafka', '--topic', topic, '--since', new Date(since).toISOString()], { env });
    expect(
      parseNdjson(later.stdout)
        .map((r) => r.message_id)
        .sort(),
    ).toEqual(['k-3', 'k-4']);
  });

  it('a slow reader drops and counts instead of holding the topic back; a reader that keeps up loses nothing', async () => {
    const total = 300;
    const topic = await topicWith(Array.from({ length: total }, (_, i) => event(i)));
    const reader = await openKafkaTail({ kafka: kafkaConfig(), topic, start: 'beginning', follow: true, bufferSize: 10, keep: () => true });
    try {
      // Nobody takes anything: the reader still reads the whole topic, keeping 10 and dropping the rest.
      await waitFor('the reader to read the topic', () => reader.read === total);
      expect(reader.dropped).toBe(total - 10);
      expect(await reader.take(10)).toHaveLength(10);
      expect(reader.finished()).toBe(false); // following
    } finally {
      await reader.close();
    }
    // The same small buffer with a reader that keeps taking: nothing is lost.
    const fast = await openKafkaTail({ kafka: kafkaConfig(), topic, start: 'beginning', follow: false, bufferSize: 10, keep: () => true });
    const taken: string[] = [];
    try {
      while (!fast.finished()) for (const message of await fast.take(50)) taken.push(message.json!.messageId as string);
    } finally {
      await fast.close();
    }
    expect(fast.dropped).toBe(0);
    expect(new Set(taken).size).toBe(total);
  });

  it('a stalled output pipe: the CLI drops, says how many on stderr, and still finishes', async () => {
    const total = 3_000;
    const padding = 'x'.repeat(200);
    const topic = await topicWith(Array.from({ length: total }, (_, i) => event(i, { padding })));
    // A downstream that reads nothing for 6 s (`| (sleep 6; cat)`): the pipe fills and the tail's writes wait.
    const tail = [process.execPath, BIN, 'tail', '--source', 'kafka', '--brokers', brokers().join(','), '--topic', topic, '--offset', 'beginning', '--buffer', '20'];
    const child = spawn('bash', ['-c', `set -o pipefail; ${tail.map((arg) => `'${arg}'`).join(' ')} | (sleep 6; cat)`], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const started = Date.now();
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(await exit, stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(6_000);
    const shown = parseNdjson(stdout).length;
    const match = /tail: (\d+) matching messages dropped of (\d+): the output could not keep up/.exec(stderr);
    expect(match, stderr).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThan(0);
    expect(Number(match![2])).toBe(total);
    expect(shown + Number(match![1]), stderr).toBe(total);
  });

  it('refuses a missing topic (exit 2) and reports unreachable brokers (exit 3), one line each', async () => {
    const missing = await runCli(['tail', '--source', 'kafka', '--brokers', brokers().join(','), '--topic', `no-such-topic-${suffix()}`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no topic "no-such-topic-[^"]+" on /);
    const unreachable = await runCli(['tail', '--source', 'kafka', '--brokers', '127.0.0.1:1', '--topic', 't']);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/^journeyctl: cannot read topic "t" from 127\.0\.0\.1:1: .+\n {2}hint: check that the brokers are reachable .+\n$/);
    expect(unreachable.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });
});
