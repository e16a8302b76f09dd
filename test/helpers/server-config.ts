import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getServices } from '../harness/services.js';

/** One integration test's own Kafka topic and group, MongoDB database and ClickHouse database, in one config file. */
export interface ServerSetup {
  config: string;
  topic: string;
  group: string;
  brokers: string[];
  mongoUrl: string;
  database: string;
}

let names = 0;

/**
 * Writes `baseConfig` plus fresh names for everything a run on the real services touches (all
 * called `<prefix>_<pid>_<random>_<n>`) to a config file in `work`; MongoDB and ClickHouse are
 * the harness's unless given.
 */
export function writeServerConfig(options: { work: string; baseConfig: string; prefix: string; brokers: string[]; mongoUrl?: string; clickhouseUrl?: string }): ServerSetup {
  const { work, baseConfig, prefix, brokers } = options;
  const mongoUrl = options.mongoUrl ?? getServices().mongo.url;
  const clickhouseUrl = options.clickhouseUrl ?? getServices().clickhouse.url;
  const name = `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}_${(names += 1)}`;
  const config = join(work, `${name}.yaml`);
  writeFileSync(
    config,
    `${baseConfig}
data_dir: ${join(work, name)}
stores:
  raw: { engine: mongodb, url: "${mongoUrl}", database: ${name} }
  analytics: { engine: clickhouse, url: "${clickhouseUrl}", database: ${name} }
kafka:
  brokers: [${brokers.map((b) => `"${b}"`).join(', ')}]
  topic: ${name}
  group: ${name}-group
  session_timeout: 6s
`,
  );
  return { config, topic: name, group: `${name}-group`, brokers, mongoUrl, database: name };
}
