// `npm run bench -- --kafka --services`: the servers the integration tests use (test/harness/), started
// for one bench run — Kafka 4.x (KRaft), FerretDB as the MongoDB, chdb served over HTTP as the
// ClickHouse — on free 127.0.0.1 ports in a temp directory, and stopped afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineInstance, ensureInstalled, type ServiceRecord, startInstance, stopInstance } from '../../test/harness/service-manager.js';

export interface BenchServices {
  brokers: string;
  mongoUrl: string;
  clickhouseUrl: string;
  describe: string;
  /** Process-group leaders of the servers, for CPU accounting (kafka, mongo, clickhouse). */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

export async function startBenchServices(log: (message: string) => void): Promise<BenchServices> {
  const manifest = ensureInstalled();
  const kafkaVersion = Object.keys(manifest.kafka).find((version) => version.startsWith('4.'));
  if (!kafkaVersion) throw new Error(`no Kafka 4.x in ${manifest.cache}/manifest.json`);
  const root = mkdtempSync(join(tmpdir(), 'journeyctl-bench-services-'));
  const records: ServiceRecord[] = [
    await defineInstance({ kind: 'kafka', name: 'kafka4', version: kafkaVersion, libsDir: manifest.kafka[kafkaVersion]! }, root),
    await defineInstance({ kind: 'ferretdb', name: 'mongo', version: manifest.ferretdb.version, bin: manifest.ferretdb.bin }, root),
    await defineInstance({ kind: 'clickhouse', name: 'clickhouse' }, root),
  ];
  const stop = async () => {
    for (const record of records) await stopInstance(record).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const record of records) {
      await startInstance(record);
      log(`${record.name} (${record.version}) at ${record.address}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const [kafka, mongo, clickhouse] = records as [ServiceRecord, ServiceRecord, ServiceRecord];
  return {
    brokers: kafka.address,
    mongoUrl: mongo.address,
    clickhouseUrl: clickhouse.address,
    describe: `Kafka ${kafka.version}, FerretDB ${mongo.version}, ClickHouse HTTP (${clickhouse.version})`,
    pids: { kafka: kafka.pid, ferretdb: mongo.pid, clickhouse: clickhouse.pid },
    stop,
  };
}
