// vitest global setup: installs (cached) and starts the real services every
// test run uses — Kafka 3.9.x and 4.x (KRaft), FerretDB on SQLite, and the
// chdb-backed ClickHouse HTTP server and a Pub/Sub emulator — on free 127.0.0.1 ports with fresh temp
// directories, and stops them when the run ends. Tests get the addresses from
// test/harness/services.ts (getServices), from vitest's inject('journeyServices'),
// or from the JOURNEY_TEST_* environment variables set here before workers start.
//
// Only the integration tier (vitest.config.ts) has this global setup. JOURNEY_TEST_SERVICES=none
// skips that tier outside npm test and CI (test/harness/tiers.ts); under them it fails here.
// JOURNEY_TEST_KEEP_SERVICE_DIRS=1 keeps the temp directories (data and logs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  BIGQUERY_TEST_PROJECT,
  defineInstance,
  ensureBigQueryEmulator,
  ensureInstalled,
  optionsLike,
  reapAbandonedRuns,
  readServicesFile,
  registerRun,
  startInstance,
  stopInstance,
  unregisterRun,
  writeServicesFile,
  type ServiceRecord,
  type ServicesFile,
} from './service-manager.js';
import { ENV, SERVICE_NAMES, type JourneyServices, type ServiceName } from './services.js';

function describe(rec: ServiceRecord): string {
  const what =
    rec.kind === 'kafka'
      ? `Kafka ${rec.version}`
      : rec.kind === 'ferretdb'
        ? `FerretDB ${rec.version}`
        : rec.kind === 'pubsub'
          ? `Pub/Sub emulator, ${rec.version}`
          : rec.kind === 'bigquery'
            ? `BigQuery emulator, ${rec.version}`
            : `ClickHouse HTTP (${rec.version})`;
  return `${rec.name} (${what}) at ${rec.address}`;
}

function pubsubEmulator(manifest: ReturnType<typeof ensureInstalled>): { version: string; bin: string } {
  if (!manifest.pubsub) throw new Error(`no Pub/Sub emulator in ${manifest.cache}/manifest.json (JOURNEY_PUBSUB_EMULATOR was empty when .ci/services/install.sh ran)`);
  return manifest.pubsub;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env['JOURNEY_TEST_SERVICES'] === 'none') {
    // tiers.ts: only npm test and CI get here with the services off; they require them.
    throw new Error('the integration tests need the real services, and npm test and CI always run them: unset JOURNEY_TEST_SERVICES=none (or run npm run test:unit / test:e2e)');
  }

  await reapAbandonedRuns();
  const manifest = ensureInstalled();
  const bigquery = ensureBigQueryEmulator();
  const kafkaVersion = (major: string): { version: string; libsDir: string } => {
    const version = Object.keys(manifest.kafka).find((v) => v.startsWith(`${major}.`));
    if (!version) throw new Error(`no Kafka ${major}.x in ${manifest.cache}/manifest.json`);
    return { version, libsDir: manifest.kafka[version]! };
  };

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'journeyctl-services-'));
  const servicesFile = path.join(root, 'services.json');
  const records: Record<ServiceName, ServiceRecord> = {
    kafka39: await defineInstance({ kind: 'kafka', name: 'kafka39', ...kafkaVersion('3') }, root),
    kafka4: await defineInstance({ kind: 'kafka', name: 'kafka4', ...kafkaVersion('4') }, root),
    mongo: await defineInstance({ kind: 'ferretdb', name: 'mongo', version: manifest.ferretdb.version, bin: manifest.ferretdb.bin }, root),
    clickhouse: await defineInstance({ kind: 'clickhouse', name: 'clickhouse' }, root),
    pubsub: await defineInstance({ kind: 'pubsub', name: 'pubsub', ...pubsubEmulator(manifest) }, root),
    bigquery: await defineInstance({ kind: 'bigquery', name: 'bigquery', ...bigquery }, root),
  };
  const data: ServicesFile = { ownerPid: process.pid, root, createdAt: new Date().toISOString(), services: { ...records } };
  writeServicesFile(servicesFile, data);
  registerRun(servicesFile);

  // Last resort if the runner dies without running the teardown below.
  const emergencyStop = (): void => {
    try {
      for (const rec of Object.values(readServicesFile(servicesFile).services)) {
        if (rec.pid)
          try {
            process.kill(-rec.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
      }
    } catch {
      /* file gone: teardown ran */
    }
  };
  process.once('exit', emergencyStop);

  const t0 = Date.now();
  const results = await Promise.allSettled(
    SERVICE_NAMES.map(async (name) => {
      let rec: ServiceRecord;
      try {
        rec = await startInstance(records[name]);
      } catch (first) {
        // A port chosen as free can be taken before the service binds it: one more
        // try with new ports and a new directory.
        process.stderr.write(`[services] ${name} failed to start, retrying once: ${String(first instanceof Error ? first.message : first).split('\n')[0]}\n`);
        const again = await defineInstance(optionsLike(records[name]), root);
        records[name] = again;
        data.services[name] = again;
        rec = await startInstance(again);
      }
      process.stderr.write(`[services] ${describe(rec)} ready in ${(rec.startupMs / 1000).toFixed(1)}s (pid ${rec.pid}, rss ${Math.round(rec.rssKiB / 1024)} MiB)\n`);
      return rec;
    }),
  );
  writeServicesFile(servicesFile, data);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    await Promise.all(Object.values(records).map((rec) => stopInstance(rec, { signal: 'SIGKILL' })));
    unregisterRun();
    process.off('exit', emergencyStop);
    throw new Error(`could not start the test services (data and logs kept in ${root}):\n` + failed.map((f) => String(f.reason instanceof Error ? f.reason.message : f.reason)).join('\n\n'));
  }
  process.stderr.write(`[services] all ${SERVICE_NAMES.length} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s; state in ${servicesFile}\n`);

  const services: JourneyServices = {
    kafka39: { brokers: [records.kafka39.address], version: records.kafka39.version },
    kafka4: { brokers: [records.kafka4.address], version: records.kafka4.version },
    mongo: { url: records.mongo.address, version: records.mongo.version },
    clickhouse: { url: records.clickhouse.address, version: records.clickhouse.version },
    pubsub: { emulatorHost: records.pubsub.address, version: records.pubsub.version },
    bigquery: { emulatorHost: records.bigquery.address, project: BIGQUERY_TEST_PROJECT, version: records.bigquery.version },
    servicesFile,
  };
  // Workers are forked after global setup, so they inherit these.
  process.env[ENV.kafka39] = services.kafka39.brokers.join(',');
  process.env[ENV.kafka4] = services.kafka4.brokers.join(',');
  process.env[ENV.mongo] = services.mongo.url;
  process.env[ENV.clickhouse] = services.clickhouse.url;
  process.env[ENV.pubsub] = services.pubsub.emulatorHost;
  process.env[ENV.bigquery] = services.bigquery.emulatorHost;
  // Google's clients and the CLI find an emulator through this variable.
  process.env['PUBSUB_EMULATOR_HOST'] = services.pubsub.emulatorHost;
  process.env[ENV.servicesFile] = servicesFile;
  project.provide('journeyServices', services);

  return async () => {
    let current: ServicesFile = data;
    try {
      current = readServicesFile(servicesFile); // tests may have restarted services or added private ones
    } catch {
      /* keep what we started */
    }
    const lines: string[] = [];
    for (const rec of Object.values(current.services)) {
      if (rec.pid) {
        const rss = fs.existsSync(`/proc/${rec.pid}/status`) ? Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${rec.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024) : 0;
        lines.push(`${rec.name} rss ${rss} MiB`);
      }
    }
    if (lines.length) process.stderr.write(`[services] stopping (${lines.join(', ')})\n`);
    await Promise.all(Object.values(current.services).map((rec) => stopInstance(rec)));
    process.off('exit', emergencyStop);
    unregisterRun();
    if (process.env['JOURNEY_TEST_KEEP_SERVICE_DIRS'] === '1') {
      process.stderr.write(`[services] kept ${root}\n`);
    } else {
      fs.rmSync(root, { recursive: true, force: true });
    }
  };
}
