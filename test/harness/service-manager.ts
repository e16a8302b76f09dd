// Starts, probes and stops the real services the tests run against: Apache
// Kafka (KRaft, from Maven Central jars), FerretDB (MongoDB wire protocol over
// SQLite), the chdb-backed ClickHouse HTTP server and a Pub/Sub emulator (the Google
// Cloud CLI's, else pstest-server). Used by the vitest global
// setup (the shared instances) and by tests (restarts, outages, private
// instances), so everything a restart needs is kept in a plain JSON record.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PubSub } from '@google-cloud/pubsub';
import kafkajs from 'kafkajs';
import { MongoClient } from 'mongodb';

export const HOST = '127.0.0.1';
/** The checkout's root: the first directory above this file with a package.json (test/harness/ as TypeScript, or compiled under dist-tools/ for the benchmarks). */
export const REPO_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
export const CACHE_DIR = process.env['JOURNEY_SERVICES_CACHE'] || path.join(os.homedir(), '.cache', 'journeyctl-services');

export type ServiceKind = 'kafka' | 'ferretdb' | 'clickhouse' | 'pubsub' | 'bigquery';

/** Everything needed to find, stop and start one service instance again. */
export interface ServiceRecord {
  name: string;
  kind: ServiceKind;
  /** e.g. "3.9.2", "4.4.0", "v1.24.2", "chdb 26.7.2.1" */
  version: string;
  host: string;
  port: number;
  /** Kafka only: the KRaft controller listener. */
  controllerPort?: number;
  /** What a client connects to: "127.0.0.1:PORT" (Kafka; Pub/Sub's PUBSUB_EMULATOR_HOST), "mongodb://..." or "http://...". */
  address: string;
  /** Process id of the running instance; 0 while stopped. */
  pid: number;
  /** The service's data (Kafka log.dirs, FerretDB SQLite dir, chdb data dir). Kept across restarts. */
  dataDir: string;
  /** Instance directory: configs, logs, data. */
  workDir: string;
  /** Where the service's own output goes (never the test run's stdout). */
  logFile: string;
  /** argv of the start command, run with cwd and env below. */
  command: string[];
  cwd: string;
  env: Record<string, string>;
  /** ms from spawn to ready for the last start. */
  startupMs: number;
  /** Resident set size (KiB) when it became ready. */
  rssKiB: number;
}

export interface ServicesFile {
  ownerPid: number;
  root: string;
  createdAt: string;
  services: Record<string, ServiceRecord>;
}

interface InstallManifest {
  cache: string;
  kafka: Record<string, string>;
  ferretdb: { version: string; bin: string };
  /** The Pub/Sub emulator install.sh found or built; null when JOURNEY_PUBSUB_EMULATOR is empty. */
  pubsub: { emulator: 'gcloud' | 'pstest'; version: string; bin: string } | null;
  /** pstest-server, built whenever there is a Pub/Sub emulator (the crash test needs one that redelivers a killed subscriber's messages). */
  pstest?: { emulator: 'pstest'; version: string; bin: string } | null;
}

/** The pstest-server install.sh built (see InstallManifest.pstest), from the manifest of the last install. */
export function installedPstest(): { version: string; bin: string } {
  const manifest = JSON.parse(fs.readFileSync(path.join(CACHE_DIR, 'manifest.json'), 'utf8')) as InstallManifest;
  if (!manifest.pstest) throw new Error(`no pstest-server in ${CACHE_DIR}/manifest.json (JOURNEY_PUBSUB_EMULATOR was empty when .ci/services/install.sh ran)`);
  return manifest.pstest;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ------------------------------------------------------------- install ----

/** Runs .ci/services/install.sh (idempotent, cached) and returns what it installed. */
export function ensureInstalled(): InstallManifest {
  const script = path.join(REPO_ROOT, '.ci', 'services', 'install.sh');
  const t0 = Date.now();
  const r = spawnSync('bash', [script], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, JOURNEY_SERVICES_CACHE: CACHE_DIR },
  });
  if (r.error) throw new Error(`could not run ${script}: ${r.error.message}`);
  if (r.status !== 0) {
    // install.sh leaves its one-line verdict (service, reason, log path) in install.failed.
    const verdict = path.join(CACHE_DIR, 'install.failed');
    const line = fs.existsSync(verdict) ? fs.readFileSync(verdict, 'utf8').trim() : `${script} exited ${r.status ?? r.signal} (log: ${path.join(CACHE_DIR, 'install.log')})`;
    throw new Error(`the test services are not installed: ${line}`);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(CACHE_DIR, 'manifest.json'), 'utf8')) as InstallManifest;
  process.stderr.write(`[services] install check done in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
  return manifest;
}

/** The BigQuery emulator .ci/services/bqemulator.sh installed (a venv; DuckDB's spatial extension under `home`). */
export interface BigQueryEmulatorInstall {
  /** e.g. "bqemulator 1.4.0" */
  version: string;
  bin: string;
  /** The HOME it runs with: where DuckDB finds its extensions without downloading them. */
  home: string;
}

/** Runs .ci/services/bqemulator.sh (idempotent, cached); a failure is its one line naming the service. */
export function ensureBigQueryEmulator(): BigQueryEmulatorInstall {
  const script = path.join(REPO_ROOT, '.ci', 'services', 'bqemulator.sh');
  const r = spawnSync('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, JOURNEY_SERVICES_CACHE: CACHE_DIR } });
  if (r.error) throw new Error(`the test services are not installed: could not run ${script}: ${r.error.message}`);
  process.stderr.write(r.stderr);
  if (r.status !== 0) {
    const line = [...r.stderr.split('\n')].reverse().find((text) => text.includes('install failed')) ?? `${script} exited ${r.status ?? r.signal}`;
    throw new Error(`the test services are not installed: ${line.trim()}`);
  }
  const installed = JSON.parse(r.stdout) as { version: string; bin: string; home: string };
  return { version: `bqemulator ${installed.version}`, bin: installed.bin, home: installed.home };
}

// --------------------------------------------------------------- ports ----

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    sock.setTimeout(500);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(false));
  });
}

// ----------------------------------------------------------- processes ----

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

/** True when pid is this record's process (guards against a reused pid). */
function owns(rec: ServiceRecord, pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(rec.workDir);
  } catch {
    return false;
  }
}

export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function spawnDetached(rec: ServiceRecord): number {
  const out = fs.openSync(rec.logFile, 'a');
  try {
    const [cmd, ...args] = rec.command;
    const child = spawn(cmd!, args, {
      cwd: rec.cwd,
      env: { ...process.env, ...rec.env },
      detached: true, // own process group: killing the group never touches the test runner
      stdio: ['ignore', out, out],
    });
    child.on('error', () => {});
    child.unref();
    if (!child.pid) throw new Error(`could not start ${rec.name}: ${rec.command.join(' ')}`);
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

// ---------------------------------------------------------- readiness ----

async function probe(rec: ServiceRecord): Promise<boolean> {
  if (!(await portOpen(rec.port))) return false;
  switch (rec.kind) {
    case 'clickhouse': {
      try {
        const r = await fetch(`${rec.address}/ping`, { signal: AbortSignal.timeout(1000) });
        return r.ok && (await r.text()) === 'Ok.\n';
      } catch {
        return false;
      }
    }
    case 'ferretdb': {
      const client = new MongoClient(rec.address, {
        serverSelectionTimeoutMS: 1000,
        connectTimeoutMS: 1000,
        directConnection: true,
      });
      try {
        await client.connect();
        await client.db('admin').command({ ping: 1 });
        return true;
      } catch {
        return false;
      } finally {
        await client.close().catch(() => {});
      }
    }
    case 'bigquery': {
      // A REST round trip: the emulator lists the datasets of any project.
      try {
        const r = await fetch(`${rec.address}/bigquery/v2/projects/${BIGQUERY_TEST_PROJECT}/datasets`, { signal: AbortSignal.timeout(2000) });
        return r.ok;
      } catch {
        return false;
      }
    }
    case 'pubsub': {
      // A gRPC round trip: the emulator answers ListTopics for any project.
      // (The universe domain said: no search for credentials an emulator does not need.)
      const client = new PubSub({ projectId: 'journeyctl-probe', apiEndpoint: rec.address, emulatorMode: true, universeDomain: 'googleapis.com' });
      try {
        await client.getTopics({ autoPaginate: false, gaxOpts: { timeout: 2000, retry: null } });
        return true;
      } catch {
        return false;
      } finally {
        await client.close().catch(() => {});
      }
    }
    case 'kafka': {
      const kafka = new kafkajs.Kafka({
        clientId: 'journeyctl-harness-probe',
        brokers: [rec.address],
        logLevel: kafkajs.logLevel.NOTHING,
        connectionTimeout: 1000,
        requestTimeout: 2000,
        retry: { retries: 0 },
      });
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.listTopics();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null;
      } catch {
        return false;
      } finally {
        await admin.disconnect().catch(() => {});
      }
    }
  }
}

async function waitReady(rec: ServiceRecord, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new Error(`${rec.name} exited during startup; last lines of ${rec.logFile}:\n${tail(rec.logFile)}`);
    }
    if (await probe(rec)) return;
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
  throw new Error(`${rec.name} not ready after ${timeoutMs} ms; last lines of ${rec.logFile}:\n${tail(rec.logFile)}`);
}

// ------------------------------------------------------- Kafka config ----

function kafkaProperties(rec: ServiceRecord): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${rec.controllerPort}`,
    `listeners=PLAINTEXT://${HOST}:${rec.port},CONTROLLER://${HOST}:${rec.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${rec.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${rec.dataDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=5',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // A restarted broker cannot register until its previous incarnation's session
    // expires (default 9 s): keep that short so crash/restart tests stay quick.
    'broker.heartbeat.interval.ms=500',
    'broker.session.timeout.ms=3000',
    // two cores: keep the thread pools and the cleaner's buffer small
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'num.recovery.threads.per.data.dir=1',
    'log.cleaner.threads=1',
    'log.cleaner.dedupe.buffer.size=16777216',
    '',
  ].join('\n');
}

function kafkaLogConfig(rec: ServiceRecord, major: number): { file: string; text: string; flag: string } {
  const logFile = path.join(rec.workDir, 'server.log');
  if (major >= 4) {
    const file = path.join(rec.workDir, 'log4j2.xml');
    return {
      file,
      flag: `-Dlog4j2.configurationFile=${file}`,
      text: `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="file" fileName="${logFile}"><PatternLayout pattern="[%d] %p %m (%c)%n"/></File>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
  </Loggers>
</Configuration>
`,
    };
  }
  const file = path.join(rec.workDir, 'log4j.properties');
  return {
    file,
    flag: `-Dlog4j.configuration=file:${file}`,
    text: [
      'log4j.rootLogger=INFO, file',
      'log4j.appender.file=org.apache.log4j.FileAppender',
      `log4j.appender.file.File=${logFile}`,
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.request.logger=WARN',
      'log4j.logger.org.apache.kafka.clients=WARN',
      '',
    ].join('\n'),
  };
}

const JVM_FLAGS = [
  '-Xms64m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  // C1 only: a test broker lives for minutes; this halves its start-up CPU on two cores
  '-XX:TieredStopAtLevel=1',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
];

async function runToCompletion(cmd: string[], cwd: string, logFile: string, timeoutMs: number): Promise<void> {
  const out = fs.openSync(logFile, 'a');
  try {
    const child = spawn(cmd[0]!, cmd.slice(1), { cwd, stdio: ['ignore', out, out] });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`timed out: ${cmd.join(' ')}`));
      }, timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    if (code !== 0) throw new Error(`${cmd.join(' ')} exited with ${code}; see ${logFile}:\n${tail(logFile)}`);
  } finally {
    fs.closeSync(out);
  }
}

// ---------------------------------------------------------- definitions ----

export interface KafkaOptions {
  name: string;
  version: string;
  libsDir: string;
}
export interface FerretOptions {
  name: string;
  version: string;
  bin: string;
}
export interface ClickHouseOptions {
  name: string;
}
export interface PubSubOptions {
  name: string;
  /** e.g. "gcloud cloud-pubsub-emulator 0.8.20" or "pstest v2.9.0" */
  version: string;
  /** cloud-pubsub-emulator or pstest-server: both take --host and --port. */
  bin: string;
}

export interface BigQueryOptions extends BigQueryEmulatorInstall {
  name: string;
}
/** The project the tests' BigQuery datasets live in (the emulator takes any). */
export const BIGQUERY_TEST_PROJECT = 'journeyctl-test';

export type InstanceOptions =
  | ({ kind: 'kafka' } & KafkaOptions)
  | ({ kind: 'ferretdb' } & FerretOptions)
  | ({ kind: 'clickhouse' } & ClickHouseOptions)
  | ({ kind: 'pubsub' } & PubSubOptions)
  | ({ kind: 'bigquery' } & BigQueryOptions);

/** The options a record was defined from, to define another instance like it. */
export function optionsLike(rec: ServiceRecord, name = rec.name): InstanceOptions {
  if (rec.kind === 'kafka') {
    const cp = rec.command[rec.command.indexOf('-cp') + 1]!;
    return { kind: 'kafka', name, version: rec.version, libsDir: cp.replace(/\/\*$/, '') };
  }
  if (rec.kind === 'ferretdb') return { kind: 'ferretdb', name, version: rec.version, bin: rec.command[0]! };
  if (rec.kind === 'pubsub') return { kind: 'pubsub', name, version: rec.version, bin: rec.command[0]! };
  if (rec.kind === 'bigquery') return { kind: 'bigquery', name, version: rec.version, bin: rec.command[0]!, home: rec.env['HOME']! };
  return { kind: 'clickhouse', name };
}

/** Lays out a new instance (ports, directories, configs, start command); does not start it. */
export async function defineInstance(opts: InstanceOptions, root: string): Promise<ServiceRecord> {
  const workDir = fs.mkdtempSync(path.join(root, `${opts.name}-`));
  const dataDir = path.join(workDir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const base = {
    name: opts.name,
    host: HOST,
    port,
    pid: 0,
    dataDir,
    workDir,
    cwd: workDir,
    startupMs: 0,
    rssKiB: 0,
  };
  switch (opts.kind) {
    case 'kafka': {
      let controllerPort = await freePort();
      while (controllerPort === port) controllerPort = await freePort();
      const rec: ServiceRecord = {
        ...base,
        kind: 'kafka',
        version: opts.version,
        controllerPort,
        address: `${HOST}:${port}`,
        logFile: path.join(workDir, 'stdout.log'),
        command: [],
        env: {},
      };
      const major = Number(opts.version.split('.')[0]);
      const logCfg = kafkaLogConfig(rec, major);
      fs.writeFileSync(logCfg.file, logCfg.text);
      const props = path.join(workDir, 'server.properties');
      fs.writeFileSync(props, kafkaProperties(rec));
      rec.command = ['java', ...JVM_FLAGS, logCfg.flag, `-Dkafka.logs.dir=${workDir}`, '-cp', `${opts.libsDir}/*`, 'kafka.Kafka', props];
      return rec;
    }
    case 'ferretdb': {
      const stateDir = path.join(workDir, 'state');
      fs.mkdirSync(stateDir, { recursive: true });
      return {
        ...base,
        kind: 'ferretdb',
        version: opts.version,
        address: `mongodb://${HOST}:${port}/`,
        logFile: path.join(workDir, 'ferretdb.log'),
        command: [
          opts.bin,
          '--handler=sqlite',
          `--sqlite-url=file:${dataDir}/`,
          `--listen-addr=${HOST}:${port}`,
          `--state-dir=${stateDir}`,
          '--telemetry=disable',
          '--debug-addr=-',
          '--log-level=warn',
          '--log-format=text',
          '--no-log-uuid',
        ],
        env: {},
      };
    }
    case 'pubsub':
      // In memory: a restart starts empty (topics, subscriptions and messages are gone).
      return {
        ...base,
        kind: 'pubsub',
        version: opts.version,
        address: `${HOST}:${port}`,
        logFile: path.join(workDir, 'pubsub-emulator.log'),
        // The instance's directory is on its command line (owns() finds its process by it): pstest-server
        // takes --instance; the Java emulator's start script puts JAVA_OPTS on java's, with a small heap
        // and a quick start on two cores.
        command: [opts.bin, `--host=${HOST}`, `--port=${port}`, ...(opts.version.startsWith('pstest') ? [`--instance=${workDir}`] : [])],
        env: { JAVA_OPTS: `-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Djourneyctl.instance=${workDir}` },
      };
    case 'bigquery':
      // File-backed (its DuckDB file in dataDir): a restart keeps the datasets. The gRPC port (Storage
      // API, unused here) is picked by the emulator; HOME is where DuckDB finds its spatial extension.
      return {
        ...base,
        kind: 'bigquery',
        version: opts.version,
        address: `http://${HOST}:${port}`,
        logFile: path.join(workDir, 'bqemulator.log'),
        command: [
          opts.bin,
          'start',
          `--rest-host=${HOST}`,
          `--rest-port=${port}`,
          `--grpc-host=${HOST}`,
          '--grpc-port=0',
          '--persistent',
          `--data-dir=${dataDir}`,
          `--project=${BIGQUERY_TEST_PROJECT}`,
          '--log-level=warning',
          '--log-format=json',
        ],
        env: { HOME: opts.home, TZ: 'UTC' },
      };
    case 'clickhouse': {
      const script = path.join(REPO_ROOT, 'test', 'harness', 'chdb-http-server.mjs');
      return {
        ...base,
        kind: 'clickhouse',
        version: 'chdb',
        address: `http://${HOST}:${port}`,
        logFile: path.join(workDir, 'chdb-http.log'),
        command: [process.execPath, script, `--host=${HOST}`, `--port=${port}`, `--data-dir=${dataDir}`],
        cwd: REPO_ROOT, // resolves chdb from the project's node_modules
        env: { TZ: 'UTC' },
      };
    }
  }
}

/** Starts a stopped instance (same ports, same data) and waits until it serves. */
export async function startInstance(rec: ServiceRecord, timeoutMs = 120_000): Promise<ServiceRecord> {
  if (rec.pid && owns(rec, rec.pid)) throw new Error(`${rec.name} is already running (pid ${rec.pid})`);
  const t0 = Date.now();
  if (rec.kind === 'kafka' && !fs.existsSync(path.join(rec.dataDir, 'meta.properties'))) {
    // KRaft: the storage directory is formatted once, before the first start.
    const props = rec.command[rec.command.length - 1]!;
    const jvm = rec.command.slice(0, rec.command.indexOf('kafka.Kafka'));
    // (base64url may start with '-', which the tool's argument parser takes for an option)
    let clusterId = randomBytes(16).toString('base64url');
    while (!/^[A-Za-z0-9]/.test(clusterId)) clusterId = randomBytes(16).toString('base64url');
    await runToCompletion([...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], rec.cwd, path.join(rec.workDir, 'format.log'), 60_000);
  }
  const pid = spawnDetached(rec);
  try {
    await waitReady(rec, pid, timeoutMs);
  } catch (e) {
    signalGroup(pid, 'SIGKILL');
    throw e;
  }
  rec.pid = pid;
  rec.startupMs = Date.now() - t0;
  rec.rssKiB = rssKiB(pid);
  if (rec.kind === 'clickhouse') {
    const m = /"engine":"([^"]+)"/.exec(fs.readFileSync(rec.logFile, 'utf8'));
    if (m) rec.version = `chdb ${m[1]}`;
  }
  return rec;
}

export interface StopOptions {
  /** SIGTERM (default: clean shutdown) or SIGKILL (crash). */
  signal?: 'SIGTERM' | 'SIGKILL';
  timeoutMs?: number;
}

/** Stops the instance's process group and waits until it is gone. Data stays. */
export async function stopInstance(rec: ServiceRecord, opts: StopOptions = {}): Promise<void> {
  const pid = rec.pid;
  if (!pid || !owns(rec, pid)) {
    rec.pid = 0;
    return;
  }
  const signal = opts.signal ?? 'SIGTERM';
  signalGroup(pid, 'SIGCONT'); // a paused process cannot act on SIGTERM
  signalGroup(pid, signal);
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }
  rec.pid = 0;
}

/** SIGSTOP / SIGCONT: the process keeps its sockets but stops answering. */
export function pauseInstance(rec: ServiceRecord): void {
  if (!rec.pid || !owns(rec, rec.pid)) throw new Error(`${rec.name} is not running`);
  signalGroup(rec.pid, 'SIGSTOP');
}
export function resumeInstance(rec: ServiceRecord): void {
  if (!rec.pid || !owns(rec, rec.pid)) throw new Error(`${rec.name} is not running`);
  signalGroup(rec.pid, 'SIGCONT');
}

// ------------------------------------------------------- services file ----

export function readServicesFile(file: string): ServicesFile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ServicesFile;
}

export function writeServicesFile(file: string, data: ServicesFile): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** Read-modify-write of one record under a lock directory (workers may race). */
export async function updateRecord(file: string, name: string, rec: ServiceRecord): Promise<void> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) fs.rmSync(lock, { recursive: true, force: true });
      await sleep(20);
    }
  }
  try {
    const data = readServicesFile(file);
    data.services[name] = rec;
    writeServicesFile(file, data);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

// ------------------------------------------- leftovers of killed runs ----

const RUNNING_DIR = path.join(CACHE_DIR, 'running');

/** Remembers which processes this run owns, so a later run can clean up after a crash. */
export function registerRun(servicesFile: string): void {
  fs.mkdirSync(RUNNING_DIR, { recursive: true });
  fs.writeFileSync(path.join(RUNNING_DIR, `${process.pid}.json`), JSON.stringify({ servicesFile }));
}
export function unregisterRun(): void {
  fs.rmSync(path.join(RUNNING_DIR, `${process.pid}.json`), { force: true });
}

/** Kills services left behind by test runs whose runner died without teardown. */
export async function reapAbandonedRuns(): Promise<void> {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(RUNNING_DIR);
  } catch {
    return;
  }
  for (const entry of entries) {
    const owner = Number(entry.replace(/\.json$/, ''));
    if (!owner || isAlive(owner)) continue;
    const marker = path.join(RUNNING_DIR, entry);
    try {
      const { servicesFile } = JSON.parse(fs.readFileSync(marker, 'utf8')) as { servicesFile: string };
      const data = readServicesFile(servicesFile);
      for (const rec of Object.values(data.services)) {
        await stopInstance(rec, { signal: 'SIGKILL' });
      }
      fs.rmSync(data.root, { recursive: true, force: true });
      process.stderr.write(`[services] cleaned up services left by dead test run ${owner}\n`);
    } catch {
      /* its files are gone already */
    }
    fs.rmSync(marker, { force: true });
  }
}
