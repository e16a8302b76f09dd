// produce --sink pubsub, tail --source pubsub, migrate and doctor against the Pub/Sub emulator
// (the harness's: the Google Cloud CLI's when installed, else pstest; PUBSUB_EMULATOR_HOST).
// tail reads through a subscription of its own, so `run` on the pipeline's subscription still
// gets every message afterwards (ADR 0015). No timing: the tail is waited for by what it prints.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getServices } from './harness/services.js';
import { parseNdjson, runCli } from './helpers/cli.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');
const PROJECT = 'journeyctl-commands';
const work = mkdtempSync(join(tmpdir(), 'jc-pubsub-commands-'));
// One data directory for the file: chdb binds one per process.
const dataDir = join(work, 'data');
/** The demo's first 300 events with a messageId and an id to key by (some of the buggy release's are rejected by run: stored as rejected). */
const lines = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'demo.ndjson'), 'utf8')
  .split('\n')
  .filter((line) => {
    try {
      const event = JSON.parse(line) as Record<string, unknown>;
      return typeof event.messageId === 'string' && (Boolean(event.anonymousId) || Boolean(event.userId));
    } catch {
      return false;
    }
  })
  .slice(0, 300);
const input = join(work, 'events.ndjson');
writeFileSync(input, `${lines.join('\n')}\n`);
const messageIds = new Set(lines.map((line) => (JSON.parse(line) as { messageId: string }).messageId));
let unique = 0;
const names = () => {
  unique += 1;
  const id = `cmd-${process.pid}-${unique}`;
  return { topic: `projects/${PROJECT}/topics/${id}`, subscription: `projects/${PROJECT}/subscriptions/${id}-pipeline` };
};
const env = () => ({ PUBSUB_EMULATOR_HOST: getServices().pubsub.emulatorHost });
const cli = (args: string[]) => runCli([...args, '--data-dir', dataDir], { env: env() });

let client: PubSub;
beforeAll(() => {
  client = new PubSub({ projectId: PROJECT, apiEndpoint: getServices().pubsub.emulatorHost, emulatorMode: true, universeDomain: 'googleapis.com' });
});
afterAll(async () => {
  await client?.close();
});

/** A following tail in its own process; resolves once it says which subscription it reads (its latch), then with its result when it exits. */
function startTail(args: string[]): { ready: Promise<string>; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, 'tail', '--source', 'pubsub', '--follow', '--output', 'ndjson', ...args], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onReady!: (line: string) => void;
  let onFail!: (error: Error) => void;
  const ready = new Promise<string>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    const line = /^tail: reading .*$/m.exec(stderr)?.[0];
    if (line) onReady(line);
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      onFail(new Error(`tail exited (${code}) before it was reading: ${stderr}`));
      resolve({ code, stdout, stderr });
    }),
  );
  return { ready, done };
}

describe('Pub/Sub commands on the emulator', () => {
  it('migrate creates the topic and the pipeline subscription (ack deadline, ordering); the second migrate says both are ready', async () => {
    const { topic, subscription } = names();
    const args = ['migrate', '--source', 'pubsub', '--topic', topic, '--subscription', subscription, '--output', 'ndjson'];
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    const pubsubSteps = (text: string) => parseNdjson(text).filter((step) => String(step.component).startsWith('pubsub'));
    expect(pubsubSteps(first.stdout)).toEqual([
      { component: 'pubsub topic', engine: 'pubsub', done: `created ${topic}` },
      { component: 'pubsub subscription', engine: 'pubsub', done: `created ${subscription} on ${topic} (ack deadline 60 s, message ordering)` },
    ]);
    const [metadata] = await client.subscription(subscription).getMetadata();
    expect({ topic: metadata.topic, ackDeadlineSeconds: metadata.ackDeadlineSeconds, enableMessageOrdering: metadata.enableMessageOrdering }).toEqual({
      topic,
      ackDeadlineSeconds: 60,
      enableMessageOrdering: true,
    });
    const second = await cli(args);
    expect(second.code, second.stderr).toBe(0);
    expect(pubsubSteps(second.stdout)).toEqual([
      { component: 'pubsub topic', engine: 'pubsub', done: `${topic} exists: ready` },
      { component: 'pubsub subscription', engine: 'pubsub', done: `${subscription} exists (ack deadline 60 s, message ordering): ready` },
    ]);
    const doctor = await cli(['doctor', '--only', 'pubsub', '--topic', topic, '--subscription', subscription, '--output', 'ndjson']);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    expect(Object.fromEntries(parseNdjson(doctor.stdout).map((row) => [row.check, row.status]))).toEqual({
      reachable: 'ok',
      topic: 'ok',
      subscription: 'ok',
      'ack deadline': 'ok',
      'message ordering': 'ok',
      'dead-letter policy': 'ok',
    });
  });

  it('doctor on a missing subscription exits 3 naming it, with the migrate line that creates it', async () => {
    const { topic, subscription } = names();
    expect((await cli(['migrate', '--source', 'pubsub', '--topic', topic, '--subscription', subscription])).code).toBe(0);
    const missing = `${subscription}-missing`;
    const doctor = await cli(['doctor', '--only', 'pubsub', '--topic', topic, '--subscription', missing, '--output', 'ndjson']);
    expect(doctor.code).toBe(3);
    const row = parseNdjson(doctor.stdout).find((candidate) => candidate.check === 'subscription')!;
    expect(row).toMatchObject({ component: 'pubsub', status: 'fail' });
    expect(row.detail).toContain(missing);
    expect(row.fix).toBe(`journeyctl migrate --source pubsub --topic ${topic} --subscription ${missing} (ack deadline 60 s, message ordering)`);
    expect(doctor.stderr).toMatch(/1 check failed: pubsub subscription/);
  });

  it("produce then a following tail shows every record; tail never reads the pipeline's subscription, so run afterwards still stores everything", async () => {
    const { topic, subscription } = names();
    expect((await cli(['migrate', '--source', 'pubsub', '--topic', topic, '--subscription', subscription])).code).toBe(0);

    // The pipeline's subscription by name is refused.
    const refused = await runCli(['tail', '--source', 'pubsub', '--topic', topic, '--subscription', subscription, '--project', PROJECT], {
      env: { ...env(), JOURNEY_PUBSUB_SUBSCRIPTION: subscription },
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("is the pipeline's subscription");

    const tail = startTail(['--topic', topic, '--subscription', `${subscription}-tail-kept`, '--limit', String(lines.length)]);
    const plain = startTail(['--topic', topic, '--limit', String(lines.length)]);
    expect(await tail.ready).toContain(`${subscription}-tail-kept`);
    expect(await plain.ready).toMatch(/its own new subscription .*-tail-/);

    const produced = await cli(['produce', '--sink', 'pubsub', '--topic', topic, '--input', input, '--output', 'json']);
    expect(produced.code, produced.stderr).toBe(0);
    expect(JSON.parse(produced.stdout)).toEqual({ topic, messages: lines.length, unkeyed: 0 });

    for (const result of [await tail.done, await plain.done]) {
      expect(result.code, result.stderr).toBe(0);
      const records = parseNdjson(result.stdout);
      expect(records).toHaveLength(lines.length);
      expect(new Set(records.map((record) => record.message_id))).toEqual(messageIds);
      expect(records.every((record) => record.source === 'pubsub' && record.topic === topic && record.key === (record.anonymous_id || record.user_id))).toBe(true);
    }
    // The tail's own new subscription is gone; the kept one and the pipeline's remain.
    const [subscriptions] = await client.topic(topic).getSubscriptions();
    expect(subscriptions.map((s) => s.name).sort()).toEqual([subscription, `${subscription}-tail-kept`].sort());

    const run = await cli(['run', '--source', 'pubsub', '--subscription', subscription, '--until-caught-up', '--no-progress', '--output', 'json']);
    expect(run.code, run.stderr).toBe(0);
    // Every message reached run, and the raw store (accepted or rejected) holds every event's id.
    expect(JSON.parse(run.stdout)).toMatchObject({ stopped_by: 'caught up', messages_received: lines.length });
    const stored = new Set<unknown>();
    for (const source of ['raw', 'rejected'])
      for (const record of parseNdjson((await cli(['tail', '--source', source, '--limit', '100000', '--output', 'ndjson'])).stdout)) stored.add(record.message_id);
    expect([...messageIds].filter((id) => !stored.has(id))).toEqual([]);
  });
});
