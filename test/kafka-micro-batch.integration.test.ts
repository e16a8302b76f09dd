// run --source kafka --until-caught-up (a micro-batch) against the real services: Kafka 3.9 and
// 4.x, FerretDB as the raw store, ClickHouse over HTTP. A sequence of micro-batches, two at once
// in one group, and one SIGKILLed half-way then rerun must each store exactly what one file
// ingest of the same events stores.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../tools/generator/generate.js';
import { getServices } from './harness/services.js';
import { runCli } from './helpers/cli.js';
import { normaliseExport } from './helpers/export-normalise.js';
import { type ServerSetup as Setup, writeServerConfig } from './helpers/server-config.js';

const { Kafka, logLevel } = kafkajs;
const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');
const KINDS = ['sessions', 'events', 'profiles', 'rejected', 'journeys', 'labels', 'flags'] as const;
const work = mkdtempSync(join(tmpdir(), 'jc-micro-'));
const baseConfig = `${readFileSync(join(import.meta.dirname, '..', 'fixtures', 'journeyctl.yaml'), 'utf8')}\npipeline:\n  batch_size: 150\n`;
const small = [...generateEvents({ users: 60, seed: 42, buggyRelease: true })];
/** Large enough that a run is still storing when its first commit is seen. */
const big = [...generateEvents({ users: 200, seed: 43, buggyRelease: true })];
const testStarted = Date.now() - 60_000;
let names = 0;

function setup(brokers: string[]): Setup {
  return writeServerConfig({ work, baseConfig, prefix: 'mb', brokers });
}

async function cli(args: string[]) {
  const result = await runCli(args);
  expect(result.code, `journeyctl ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result;
}

async function produce(s: Setup, lines: string[]): Promise<void> {
  const file = join(work, `${s.topic}-${randomBytes(3).toString('hex')}.ndjson`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  await cli(['produce', '--config', s.config, '--input', file, '--output', 'json']);
}

interface Run {
  kill(): void;
  exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** A micro-batch in its own process, as a CronJob runs it. */
function microBatch(s: Setup, extra: string[] = []): Run {
  const child = spawn(process.execPath, [BIN, 'run', '--source', 'kafka', '--until-caught-up', '--config', s.config, '--output', 'json', '--no-progress', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => setImmediate(() => resolve({ code, stdout, stderr }))));
  return { kill: () => child.kill('SIGKILL'), exit };
}

async function completes(run: Run): Promise<Record<string, unknown>> {
  const result = await run.exit;
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const admins: kafkajs.Admin[] = [];
afterAll(async () => {
  for (const admin of admins) await admin.disconnect().catch(() => {});
});
async function committed(s: Setup): Promise<number> {
  let admin = admins.find((a) => (a as unknown as { brokers?: string }).brokers === s.brokers.join(','));
  if (!admin) {
    admin = new Kafka({ clientId: 'micro-batch-test', brokers: s.brokers, logLevel: logLevel.NOTHING }).admin();
    Object.assign(admin, { brokers: s.brokers.join(',') });
    await admin.connect();
    admins.push(admin);
  }
  const offsets = await admin.fetchOffsets({ groupId: s.group, topics: [s.topic] });
  return (offsets[0]?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

const normalise = (kind: string, text: string) => normaliseExport(kind, text, testStarted);

async function exports(config: string, dataDir?: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of KINDS) out[kind] = normalise(kind, (await cli(['export', kind, '--config', config, ...(dataDir ? ['--data-dir', dataDir] : []), '--output', 'ndjson'])).stdout);
  return out;
}

/** One file ingest into the embedded stores (a child process: chdb binds one data directory per process). */
async function fileIngest(lines: string[]): Promise<Record<string, string>> {
  const name = `file-${(names += 1)}`;
  const input = join(work, `${name}.ndjson`);
  writeFileSync(input, `${lines.join('\n')}\n`);
  const config = join(work, `${name}.yaml`);
  writeFileSync(config, `${baseConfig}\ndata_dir: ${join(work, name)}\n`);
  const child = async (args: string[]) => {
    const run = spawn(process.execPath, [BIN, ...args, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
    let stdout = '';
    run.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
    expect(code).toBe(0);
    return stdout;
  };
  await child(['run', '--input', input, '--output', 'json', '--no-progress']);
  const out: Record<string, string> = {};
  for (const kind of KINDS) out[kind] = normalise(kind, await child(['export', kind, '--output', 'ndjson']));
  return out;
}

let expectedSmall: Record<string, string>;
beforeAll(async () => {
  expectedSmall = await fileIngest(small);
  expect(expectedSmall.sessions!.split('\n').length).toBeGreaterThan(50);
}, 180_000);

function expectSame(actual: Record<string, string>, expected: Record<string, string>): void {
  for (const kind of KINDS) expect(actual[kind], `export ${kind}`).toBe(expected[kind]);
}

describe.each(['kafka39', 'kafka4'] as const)('micro-batches (%s)', (broker) => {
  it('part 1, a micro-batch, part 2, a micro-batch: the result of one file ingest of both; then nothing to do', async () => {
    const s = setup(getServices()[broker].brokers);
    await cli(['migrate', '--config', s.config, '--partitions', '3', '--output', 'ndjson']);
    const half = Math.floor(small.length / 2);
    await produce(s, small.slice(0, half));
    const first = await completes(microBatch(s));
    expect(first).toMatchObject({ events_read: half, stopped_by: 'caught up', lag_at_start: half, lag_at_end: 0 });
    await produce(s, small.slice(half));
    const second = await completes(microBatch(s));
    expect(second).toMatchObject({ events_read: small.length - half, stopped_by: 'caught up', lag_at_start: small.length - half, lag_at_end: 0 });
    process.stderr.write(`[micro-batch ${broker}] ${JSON.stringify(first)}\n[micro-batch ${broker}] ${JSON.stringify(second)}\n`);
    expectSame(await exports(s.config), expectedSmall);
    // No lag: exit 0 at once, saying so, storing nothing.
    const idle = microBatch(s);
    const result = await idle.exit;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/nothing to do \(lag 0\)/);
    expect(JSON.parse(result.stdout)).toMatchObject({ events_read: 0, lag_at_start: 0, lag_at_end: 0 });
  }, 300_000);
});

describe('micro-batches (Kafka 4): concurrency, crashes, bounds', () => {
  it('two micro-batches started at once in one group store the result of one file ingest', async () => {
    const s = setup(getServices().kafka4.brokers);
    await cli(['migrate', '--config', s.config, '--partitions', '3', '--output', 'ndjson']);
    await produce(s, small);
    const summaries = await Promise.all([completes(microBatch(s)), completes(microBatch(s))]);
    // Between them every message was read (at least once: a rebalance may hand a batch to the other).
    expect(summaries.reduce((sum, summary) => sum + Number(summary.events_read), 0)).toBeGreaterThanOrEqual(small.length);
    expect(await committed(s)).toBe(small.length);
    expectSame(await exports(s.config), expectedSmall);
  }, 300_000);

  it('a micro-batch SIGKILLed half-way, then rerun, stores the result of one file ingest', async () => {
    const expectedBig = await fileIngest(big);
    const s = setup(getServices().kafka4.brokers);
    await cli(['migrate', '--config', s.config, '--partitions', '3', '--output', 'ndjson']);
    await produce(s, big);
    const run = microBatch(s);
    // Its first commit: it has stored some of the topic and has most of it still to read.
    while ((await committed(s)) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    run.kill();
    await run.exit;
    const after = await committed(s);
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThan(big.length);
    const rerun = await completes(microBatch(s));
    expect(rerun).toMatchObject({ stopped_by: 'caught up', lag_at_start: big.length - after, lag_at_end: 0 });
    expectSame(await exports(s.config), expectedBig);
  }, 420_000);

  it('--max-events stops at the bound, commits what it stored, says the lag left; --fail-on-lag makes that exit 1', async () => {
    const s = setup(getServices().kafka4.brokers);
    await cli(['migrate', '--config', s.config, '--partitions', '3', '--output', 'ndjson']);
    await produce(s, small);
    const bounded = await completes(microBatch(s, ['--max-events', '1000']));
    expect(bounded).toMatchObject({ events_read: 1000, stopped_by: 'max events (1000)', lag_at_start: small.length, lag_at_end: small.length - 1000 });
    expect(await committed(s)).toBe(1000);
    const failing = await microBatch(s, ['--max-events', '500', '--fail-on-lag']).exit;
    expect(failing.code, failing.stderr).toBe(1);
    expect(JSON.parse(failing.stdout)).toMatchObject({ events_read: 500, lag_at_end: small.length - 1500 });
    expect(failing.stderr).toMatch(/lag 1997 left \(--fail-on-lag\)/);
    const rest = await completes(microBatch(s, ['--max-duration', '10m']));
    expect(rest).toMatchObject({ events_read: small.length - 1500, stopped_by: 'caught up', lag_at_end: 0 });
    expectSame(await exports(s.config), expectedSmall);
  }, 300_000);
});
