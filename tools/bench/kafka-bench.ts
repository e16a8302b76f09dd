// `npm run bench -- --kafka`: events/s from Kafka into both server stores (MongoDB raw store,
// ClickHouse analytics) beside a plain consumer that only reads the same topic — the broker-side
// limit — printed as a ratio. Printed, never asserted.
//
//   npm run bench -- --kafka --brokers localhost:9092 --mongo-url mongodb://localhost:27017/ \
//                    --clickhouse-url http://localhost:8123 [--events 20000] [--partitions 3]
//                    [--raw-engine mongodb|clickhouse|mongodb,clickhouse] [--derivation-engine js|sql] [--json FILE] [--cpu-prof DIR]
// (or JOURNEY_KAFKA_BROKERS / JOURNEY_MONGO_URL / JOURNEY_CLICKHOUSE_URL; docker-compose.yml
// provides all three; --services starts the integration tests' Kafka 4.x, FerretDB and chdb served
// over HTTP instead, bench-services.ts). --raw-engine clickhouse keeps raw events in ClickHouse too
// (the rest of the raw store in MongoDB); a list measures each, its own consumer group and databases. Each run uses a fresh topic, consumer group and databases named bench_<time>.
// With --brokers alone it runs only the micro-batch section (below).
//
// Micro-batch: `run --source kafka --until-caught-up` of --micro-events (default 100k) events from
// a 3-partition topic into the embedded stores, from process start to exit, beside a plain
// consumer reading the same messages, and a second micro-batch with nothing to do (connect included).
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type KafkaConfig, resolveConfig } from '../../src/config/config.js';
import { generateEvents, usersForEvents } from '../generator/generate.js';
import { inspectKafka, produceLines, readTopicOnly } from '../../src/sources/kafka-source.js';
import { REPO_ROOT } from '../repo-root.js';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(REPO_ROOT, 'bin', 'journeyctl.js');

export async function runKafkaBench(args: string[]): Promise<void> {
  const option = (name: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const events = Number(option('--events') ?? 20_000);
  const partitions = Number(option('--partitions') ?? 3);
  const log = (message: string) => console.error(`  ${message}`);
  const services = args.includes('--services') ? await (await import('./bench-services.js')).startBenchServices(log) : null;
  try {
    const brokers = services?.brokers ?? option('--brokers') ?? process.env.JOURNEY_KAFKA_BROKERS;
    const mongoUrl = services?.mongoUrl ?? option('--mongo-url') ?? process.env.JOURNEY_MONGO_URL;
    const clickhouseUrl = services?.clickhouseUrl ?? option('--clickhouse-url') ?? process.env.JOURNEY_CLICKHOUSE_URL;
    // The micro-batch section runs by default beside given brokers; beside --services only when asked for.
    const microEvents = option('--micro-events') ?? (services ? '0' : '100000');
    if (brokers && microEvents !== '0') await runMicroBatchBench(brokers, Number(microEvents));
    if (brokers && (!mongoUrl || !clickhouseUrl)) return;
    if (!brokers || !mongoUrl || !clickhouseUrl) {
      console.error(
        'bench --kafka needs --brokers, --mongo-url and --clickhouse-url (or JOURNEY_KAFKA_BROKERS, JOURNEY_MONGO_URL, JOURNEY_CLICKHOUSE_URL), or --services to start the test servers; `docker compose up -d --wait` starts all three',
      );
      process.exitCode = 2;
      return;
    }
    const rawEngines = (option('--raw-engine') ?? 'mongodb').split(',');
    const derivationEngine = option('--derivation-engine');
    const cpuProfDir = option('--cpu-prof');
    const result = await runServerBench({
      brokers,
      mongoUrl,
      clickhouseUrl,
      events,
      partitions,
      rawEngines,
      derivationEngine,
      log,
      services: services?.describe ?? 'given by flags',
      servicePids: services?.pids ?? {},
      ...(cpuProfDir ? { cpuProfDir } : {}),
    });
    const jsonPath = option('--json');
    if (jsonPath) {
      writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
      console.log(`figures written to ${jsonPath}`);
    }
  } finally {
    await services?.stop();
  }
}

interface ServerBenchOptions {
  brokers: string;
  mongoUrl: string;
  clickhouseUrl: string;
  events: number;
  partitions: number;
  /** stores.raw.engine of each measured pipeline (mongodb, clickhouse), each its own group and databases. */
  rawEngines: string[];
  /** derivation.engine of every measured pipeline (default: the config default, js). */
  derivationEngine: string | undefined;
  log: (message: string) => void;
  services: string;
  /** Process-group leaders of servers started by --services: their CPU seconds are reported per phase. */
  servicePids: Record<string, number>;
  /** --cpu-prof DIR: the measured run writes a V8 CPU profile there. */
  cpuProfDir?: string;
}

export interface KafkaBenchResult {
  at: string;
  services: string;
  events: number;
  partitions: number;
  plainConsumer: { seconds: number; eventsPerS: number };
  pipelines: Array<{
    rawEngine: string;
    derivationEngine: string;
    storedSeconds: number;
    totalSeconds: number;
    eventsPerS: number;
    ratio: number;
    /** CPU seconds per process (journeyctl, and each server started by --services) until all was stored, and after (derive, exit). */
    cpu: { stored: Record<string, number>; derived: Record<string, number> };
    summary: unknown;
  }>;
}

/** One topic, a plain consumer of it, then `run --source kafka` into the server stores once per raw engine. */
async function runServerBench(options: ServerBenchOptions): Promise<KafkaBenchResult> {
  const { brokers, mongoUrl, clickhouseUrl, events, partitions, log } = options;
  const name = `bench_${Date.now()}`;
  const resolved = resolveConfig({ kafka: { brokers, topic: name, group: `${name}_group` } }, {});
  if (!resolved.ok) throw new Error(resolved.errors.join('\n'));
  const kafka: KafkaConfig = resolved.config.kafka;
  const work = mkdtempSync(join(tmpdir(), 'journeyctl-kafka-bench-'));
  try {
    console.log(`journeyctl bench --kafka — ${events.toLocaleString('en-US')} generated events, ${partitions} partitions, topic/databases ${name}, ${options.services}, Node ${process.version}`);
    const file = join(work, 'events.ndjson');
    const lines = await generate(events, file);

    const started = performance.now();
    await produceLines(kafka, readLines(file), { log, partitions });
    const produceMs = performance.now() - started;
    console.log(`produce: ${lines.toLocaleString('en-US')} messages in ${(produceMs / 1000).toFixed(1)} s (${rate(lines, produceMs)} msg/s)`);

    const plainMs = await readTopicOnly(kafka, lines, log);
    const plainRate = rate(lines, plainMs);
    console.log(`plain consumer (kafkajs, reads the topic, does nothing): ${(plainMs / 1000).toFixed(1)} s, ${plainRate.toLocaleString('en-US')} events/s`);

    const result: KafkaBenchResult = {
      at: new Date().toISOString(),
      services: options.services,
      events: lines,
      partitions,
      plainConsumer: { seconds: plainMs / 1000, eventsPerS: plainRate },
      pipelines: [],
    };
    for (const rawEngine of options.rawEngines) {
      const database = `${name}_${rawEngine}`;
      const group = `${name}_${rawEngine}_group`;
      const raw =
        rawEngine === 'clickhouse'
          ? `{ engine: clickhouse, url: "${clickhouseUrl}", database: ${database}, mongo_url: "${mongoUrl}" }`
          : `{ engine: ${rawEngine}, url: "${mongoUrl}", database: ${database} }`;
      const config = join(work, `journeyctl-${rawEngine}.yaml`);
      writeFileSync(
        config,
        `stores:
  raw: ${raw}
  analytics: { engine: clickhouse, url: "${clickhouseUrl}", database: ${database} }
kafka:
  brokers: [${kafka.brokers.map((b) => `"${b}"`).join(', ')}]
  topic: ${name}
  group: ${group}
${options.derivationEngine ? `derivation: { engine: ${options.derivationEngine} }\n` : ''}`,
      );
      const measured = await pipelineRun(config, { ...kafka, group }, lines, options.servicePids, options.cpuProfDir);
      const pipelineRate = rate(lines, measured.totalMs);
      console.log(
        `run --source kafka → raw ${rawEngine} + analytics ClickHouse: all stored in the raw store after ${(measured.storedMs / 1000).toFixed(1)} s (${rate(lines, measured.storedMs).toLocaleString('en-US')} events/s); derived and exited after ${(measured.totalMs / 1000).toFixed(1)} s`,
      );
      const cpuLine = (cpu: Record<string, number>) =>
        Object.entries(cpu)
          .map(([name, seconds]) => `${name} ${seconds.toFixed(1)}`)
          .join(', ');
      console.log(`  CPU-s until stored: ${cpuLine(measured.cpu.stored)}; after (derive, exit): ${cpuLine(measured.cpu.derived)}`);
      console.log(`  summary: ${measured.summary}`);
      console.log(
        `events/s into both stores (raw ${rawEngine}): ${pipelineRate.toLocaleString('en-US')}; plain consumer: ${plainRate.toLocaleString('en-US')}; ratio pipeline/plain consumer: ${(pipelineRate / plainRate).toFixed(3)}`,
      );
      result.pipelines.push({
        rawEngine,
        derivationEngine: options.derivationEngine ?? 'default',
        storedSeconds: measured.storedMs / 1000,
        totalSeconds: measured.totalMs / 1000,
        eventsPerS: pipelineRate,
        ratio: pipelineRate / plainRate,
        cpu: measured.cpu,
        summary: JSON.parse(measured.summary || 'null') as unknown,
      });
    }
    console.log(`(leftovers to drop when done: topic ${name}, MongoDB and ClickHouse databases ${name}_*)`);
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * `migrate`, then `run --source kafka` from the consumer's start until everything is committed
 * (stored in the raw store), then SIGTERM: it derives the rest into ClickHouse and exits.
 */
async function pipelineRun(
  config: string,
  kafka: KafkaConfig,
  lines: number,
  servicePids: Record<string, number>,
  cpuProfDir: string | undefined,
): Promise<{ storedMs: number; totalMs: number; summary: string; cpu: { stored: Record<string, number>; derived: Record<string, number> } }> {
  const migrate = spawn(process.execPath, [BIN, 'migrate', '--config', config, '--output', 'ndjson'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [migrated] = (await once(migrate, 'exit')) as [number];
  if (migrated !== 0) throw new Error('journeyctl migrate failed');
  const servicesAtStart = groupCpu(servicePids);
  const started = performance.now();
  const profile = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const child = spawn(process.execPath, [...profile, BIN, 'run', '--source', 'kafka', '--config', config, '--output', 'json', '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // The run's own CPU, sampled while it lives (its /proc entry goes with it).
  let runCpu = 0;
  const sample = setInterval(() => (runCpu = Math.max(runCpu, processCpu(child.pid ?? 0))), 50);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  for (;;) {
    const group = (await inspectKafka(kafka, () => {})).group;
    if (group && group.committed >= group.end && group.end >= lines) break;
    if (child.exitCode !== null) throw new Error(`the consumer exited early:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const storedMs = performance.now() - started;
  const runAtStored = processCpu(child.pid ?? 0);
  const servicesAtStored = groupCpu(servicePids);
  child.kill('SIGTERM');
  const [code] = await exited;
  clearInterval(sample);
  const totalMs = performance.now() - started;
  const servicesAtEnd = groupCpu(servicePids);
  if (code !== 0) throw new Error(`the consumer failed (exit ${code}):\n${stderr}`);
  const phase = (from: Record<string, number>, to: Record<string, number>, run: number) => ({
    journeyctl: run,
    ...Object.fromEntries(Object.keys(to).map((name) => [name, (to[name] ?? 0) - (from[name] ?? 0)])),
  });
  return {
    storedMs,
    totalMs,
    summary: stdout.trim(),
    cpu: { stored: phase(servicesAtStart, servicesAtStored, runAtStored), derived: phase(servicesAtStored, servicesAtEnd, Math.max(0, runCpu - runAtStored)) },
  };
}

/** A micro-batch into the embedded stores beside a plain consumer, then a run with nothing to do. */
async function runMicroBatchBench(brokers: string, events: number): Promise<void> {
  const name = `bench_mb_${Date.now()}`;
  const resolved = resolveConfig({ kafka: { brokers, topic: name, group: `${name}_group` } }, {});
  if (!resolved.ok) throw new Error(resolved.errors.join('\n'));
  const kafka: KafkaConfig = resolved.config.kafka;
  const log = (message: string) => console.error(`  ${message}`);
  const work = mkdtempSync(join(tmpdir(), 'journeyctl-micro-bench-'));
  try {
    console.log(`micro-batch: ${events.toLocaleString('en-US')} generated events, 3 partitions, topic ${name}, embedded stores, Node ${process.version}`);
    const file = join(work, 'events.ndjson');
    const lines = await generate(events, file);
    await produceLines(kafka, readLines(file), { log, partitions: 3 });
    const plainMs = await readTopicOnly(kafka, lines, log);
    const config = join(work, 'journeyctl.yaml');
    writeFileSync(config, `data_dir: ${join(work, 'data')}\nkafka:\n  brokers: [${kafka.brokers.map((b) => `"${b}"`).join(', ')}]\n  topic: ${name}\n  group: ${kafka.group}\n`);
    const microBatch = async () => {
      const started = performance.now();
      const child = spawn(process.execPath, [BIN, 'run', '--source', 'kafka', '--until-caught-up', '--config', config, '--output', 'json', '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      if (code !== 0) throw new Error(`the micro-batch failed (exit ${code}):\n${stderr}`);
      return { ms: performance.now() - started, summary: stdout.trim(), stderr };
    };
    const full = await microBatch();
    const idle = await microBatch();
    const runRate = rate(lines, full.ms);
    const plainRate = rate(lines, plainMs);
    console.log(`plain consumer (reads the topic, does nothing): ${(plainMs / 1000).toFixed(1)} s, ${plainRate.toLocaleString('en-US')} events/s`);
    console.log(
      `run --source kafka --until-caught-up → embedded stores, process start to exit: ${(full.ms / 1000).toFixed(1)} s, ${runRate.toLocaleString('en-US')} events/s; ratio micro-batch/plain consumer: ${(runRate / plainRate).toFixed(3)}`,
    );
    console.log(`  summary: ${full.summary}`);
    console.log(
      `a micro-batch with nothing to do (lag 0), connect included: ${(idle.ms / 1000).toFixed(1)} s${/nothing to do \(lag 0\)/.test(idle.stderr) ? '' : ' (it did not say "nothing to do")'}`,
    );
    console.log(`(leftover to drop when done: topic ${name})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function generate(target: number, path: string): Promise<number> {
  const out = createWriteStream(path);
  let lines = 0;
  for (const line of generateEvents({ users: usersForEvents(target), seed: 2026, includeUsers: false, maxListedIds: 0 })) {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
    lines += 1;
  }
  out.end();
  await once(out, 'finish');
  return lines;
}

async function* readLines(path: string): AsyncIterable<string> {
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY })) if (line.trim() !== '') yield line;
}

/** utime + stime of a process in seconds, from /proc (0 when it is gone). */
function processCpu(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100;

/** CPU seconds of every live process in each named process group (a server and its children). */
function groupCpu(leaders: Record<string, number>): Record<string, number> {
  const totals: Record<string, number> = Object.fromEntries(Object.keys(leaders).map((name) => [name, 0]));
  const names = new Map(Object.entries(leaders).map(([name, pid]) => [pid, name]));
  if (names.size === 0) return totals;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8')
        .replace(/^.*\) /s, '')
        .split(' ');
      const name = names.get(Number(fields[2]));
      if (name !== undefined) totals[name] = (totals[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      // gone meanwhile
    }
  }
  return totals;
}

function rate(count: number, ms: number): number {
  return Math.round(count / (ms / 1000));
}
