// What tests import to reach the real services started by global-setup.ts.
//
//   import { getServices, restartService } from '../test/harness/services.js';
//   const { kafka4, mongo, clickhouse, pubsub } = getServices();
//   new Kafka({ brokers: kafka4.brokers }); new MongoClient(mongo.url);
//   createClient({ url: clickhouse.url }); new PubSub({ apiEndpoint: pubsub.emulatorHost, projectId: 'p' });
//
// Outage tests: stopService / startService / restartService / pauseService /
// resumeService act on the shared instances, which every test file running at
// the same time also uses. A test that breaks a service on purpose should prefer
// launchPrivateService(name), which starts an instance of its own (same kind and
// version, own ports and data) with the same controls.
//
// The same addresses are in the environment (ENV below) for code or child
// processes that do not import this module, and in vitest's inject('journeyServices').
import type {} from 'vitest';
import {
  BIGQUERY_TEST_PROJECT,
  defineInstance,
  installedPstest,
  optionsLike,
  pauseInstance,
  readServicesFile,
  resumeInstance,
  startInstance,
  stopInstance,
  updateRecord,
  type ServiceRecord,
  type StopOptions,
} from './service-manager.js';

export type { ServiceRecord, StopOptions } from './service-manager.js';

export const SERVICE_NAMES = ['kafka39', 'kafka4', 'mongo', 'clickhouse', 'pubsub', 'bigquery'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Environment variables set by the global setup before any worker starts. */
export const ENV = {
  /** comma-separated broker list of the Kafka 3.9.x broker, e.g. "127.0.0.1:40123" */
  kafka39: 'JOURNEY_TEST_KAFKA39_BROKERS',
  /** comma-separated broker list of the Kafka 4.x broker */
  kafka4: 'JOURNEY_TEST_KAFKA4_BROKERS',
  /** MongoDB connection string of FerretDB, e.g. "mongodb://127.0.0.1:40125/" */
  mongo: 'JOURNEY_TEST_MONGO_URL',
  /** ClickHouse HTTP URL served by chdb, e.g. "http://127.0.0.1:40126" */
  clickhouse: 'JOURNEY_TEST_CLICKHOUSE_URL',
  /** host:port of the Pub/Sub emulator (also exported as PUBSUB_EMULATOR_HOST), e.g. "127.0.0.1:40127" */
  pubsub: 'JOURNEY_TEST_PUBSUB_EMULATOR_HOST',
  /** REST endpoint of the BigQuery emulator (bqemulator), e.g. "http://127.0.0.1:40127": a client's apiEndpoint / BIGQUERY_EMULATOR_HOST */
  bigquery: 'JOURNEY_TEST_BIGQUERY_EMULATOR_HOST',
  /** JSON file with pids, data dirs, log files and start commands (ServicesFile) */
  servicesFile: 'JOURNEY_TEST_SERVICES_FILE',
} as const;

export interface JourneyServices {
  kafka39: { brokers: string[]; version: string };
  kafka4: { brokers: string[]; version: string };
  mongo: { url: string; version: string };
  clickhouse: { url: string; version: string };
  /** In memory: a restart starts empty. */
  pubsub: { emulatorHost: string; version: string };
  /** The tests' datasets go in `project` (any project works on the emulator). */
  bigquery: { emulatorHost: string; project: string; version: string };
  servicesFile: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    journeyServices: JourneyServices;
  }
}

function env(name: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: the real test services were not started. Run the tests with vitest ` + '(its global setup test/harness/global-setup.ts starts them), without JOURNEY_TEST_SERVICES=none.',
    );
  }
  return v;
}

/** Addresses of the shared service instances of this test run. */
export function getServices(): JourneyServices {
  const file = env(ENV.servicesFile);
  const services = readServicesFile(file).services;
  const version = (n: ServiceName): string => services[n]?.version ?? 'unknown';
  return {
    kafka39: { brokers: env(ENV.kafka39).split(','), version: version('kafka39') },
    kafka4: { brokers: env(ENV.kafka4).split(','), version: version('kafka4') },
    mongo: { url: env(ENV.mongo), version: version('mongo') },
    clickhouse: { url: env(ENV.clickhouse), version: version('clickhouse') },
    pubsub: { emulatorHost: env(ENV.pubsub), version: version('pubsub') },
    bigquery: { emulatorHost: env(ENV.bigquery), project: BIGQUERY_TEST_PROJECT, version: version('bigquery') },
    servicesFile: file,
  };
}

/** Current record (pid, ports, dataDir, logFile, command) of a service. */
export function serviceRecord(name: string): ServiceRecord {
  const rec = readServicesFile(env(ENV.servicesFile)).services[name];
  if (!rec) throw new Error(`no service named ${name}`);
  return rec;
}

/** Stops a service (SIGTERM by default, SIGKILL to simulate a crash). Ports and data are kept. */
export async function stopService(name: string, opts: StopOptions = {}): Promise<void> {
  const rec = serviceRecord(name);
  await stopInstance(rec, opts);
  await updateRecord(env(ENV.servicesFile), name, rec);
}

/** Starts a stopped service again on the same port and data directory; resolves when it serves. */
export async function startService(name: string): Promise<ServiceRecord> {
  const rec = serviceRecord(name);
  await startInstance(rec);
  await updateRecord(env(ENV.servicesFile), name, rec);
  return rec;
}

export async function restartService(name: string, opts: StopOptions = {}): Promise<ServiceRecord> {
  await stopService(name, opts);
  return startService(name);
}

/** SIGSTOP: the process keeps its port open but answers nothing (a hung server). */
export function pauseService(name: string): void {
  pauseInstance(serviceRecord(name));
}

/** SIGCONT after pauseService. */
export function resumeService(name: string): void {
  resumeInstance(serviceRecord(name));
}

export interface PrivateService {
  /** Name in the services file (teardown stops it if the test does not). */
  name: string;
  /** Kafka and Pub/Sub: "127.0.0.1:PORT"; FerretDB: "mongodb://127.0.0.1:PORT/"; ClickHouse: "http://127.0.0.1:PORT". */
  address: string;
  record(): ServiceRecord;
  stop(opts?: StopOptions): Promise<void>;
  start(): Promise<void>;
  restart(opts?: StopOptions): Promise<void>;
  pause(): void;
  resume(): void;
  /** Stops it for good. */
  dispose(): Promise<void>;
}

let privateCount = 0;

/**
 * Starts a new instance of the same kind and version as a shared service, for this test only;
 * `{ pstest: true }` with 'pubsub': a pstest-server, whichever emulator the shared one is.
 */
export async function launchPrivateService(like: ServiceName, options: { pstest?: boolean } = {}): Promise<PrivateService> {
  const file = env(ENV.servicesFile);
  const data = readServicesFile(file);
  const template = data.services[like];
  if (!template) throw new Error(`no service named ${like}`);
  const name = `${like}-private-${process.pid}-${++privateCount}`;
  const rec = await defineInstance(like === 'pubsub' && options.pstest ? { kind: 'pubsub', name, ...installedPstest() } : optionsLike(template, name), data.root);
  await updateRecord(file, name, rec);
  await startInstance(rec);
  await updateRecord(file, name, rec);
  // Every control goes through the services file, so a mix of these methods and
  // stopService(name)/startService(name) always acts on the current pid.
  return {
    name,
    address: rec.address,
    record: () => serviceRecord(name),
    stop: (opts) => stopService(name, opts),
    start: async () => {
      await startService(name);
    },
    restart: async (opts) => {
      await restartService(name, opts);
    },
    pause: () => pauseService(name),
    resume: () => resumeService(name),
    dispose: () => stopService(name),
  };
}
