import type { JourneyConfig } from '../config/config.js';
import { InfrastructureError, isJourneyError, UsageError } from '../errors.js';
import { resolveOutputFormat, writeRecords } from '../render/output.js';
import { inspectKafka } from '../sources/kafka-source.js';
import { inspectClickHouse, redactUrl } from '../stores/clickhouse/server-admin.js';
import { redactMongoUrl } from '../stores/mongo/mongo-connection.js';
import { openRawStore } from '../stores/open-stores.js';
import type { RawStore } from '../stores/raw-store.js';
import type { CommandContext } from './context.js';
import { checkEmbeddedDamage } from './doctor-damage.js';

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface DoctorCheck {
  component: 'raw store' | 'analytics store' | 'kafka';
  check: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a failure. */
  fix: string;
}

/**
 * `journeyctl doctor`: each configured engine — reachable (and authenticated), its version, and
 * whether what migrate creates is there (indexes, tables, topic). Data for the table/JSON
 * renderers; the command exits 3 when something failed.
 */
export async function runDoctor(context: CommandContext, options: { thorough?: boolean; only?: 'raw' | 'analytics' | 'kafka' } = {}): Promise<DoctorCheck[]> {
  const { config } = context;
  if (options.only === 'raw') return checkRawStore(config);
  if (options.only === 'analytics') return checkAnalytics(config);
  if (options.only === 'kafka') return checkKafka(config, context.log);
  const damage = await checkEmbeddedDamage(config, { thorough: Boolean(options.thorough), log: context.log });
  return [...(await checkRawStore(config)), ...(await checkAnalytics(config)), ...damage, ...(await checkKafka(config, context.log))];
}

async function checkRawStore(config: JourneyConfig): Promise<DoctorCheck[]> {
  const row = (check: string, status: CheckStatus, detail: string, fix = ''): DoctorCheck => ({ component: 'raw store', check, status, detail, fix });
  const raw = config.stores.raw;
  const where = raw.engine === 'mongodb' ? redactMongoUrl(raw.url) : `${config.dataDir}/raw.sqlite`;
  let store: RawStore;
  try {
    // A quick answer: a server that is down is reported in seconds, not after the driver's 10 s.
    store = await openRawStore(raw.engine === 'mongodb' ? { ...config, stores: { ...config.stores, raw: { ...raw, url: withOption(raw.url, 'serverSelectionTimeoutMS', '3000') } } } : config, { allowDamage: true });
  } catch (error) {
    if (error instanceof UsageError) return [row('reachable', 'skip', error.message, 'journeyctl run --input FILE creates the data directory')];
    const message = isJourneyError(error) ? error.message : String(error);
    const auth = /authentication/i.test(message);
    return [
      row('reachable', 'fail', message, auth ? 'fix the user/password in the connection string (--mongo-url)' : raw.engine === 'mongodb' ? `start MongoDB or fix --mongo-url (${where}); docker compose up -d mongodb` : 'check that the data directory is writable (--data-dir)'),
    ];
  }
  try {
    const checks = [row('reachable', 'ok', `${raw.engine} at ${where}`)];
    const admin = store as RawStore & { serverInfo?: () => Promise<{ version: string; ferretdb: string | null }>; missingSchema?: () => Promise<string[]> };
    if (admin.serverInfo && admin.missingSchema) {
      const info = await admin.serverInfo();
      checks.push(row('version', 'ok', info.ferretdb ? `FerretDB ${info.ferretdb} (MongoDB ${info.version} wire protocol)` : `MongoDB ${info.version}`));
      const missing = await admin.missingSchema();
      checks.push(missing.length === 0 ? row('collections and indexes', 'ok', 'all present') : row('collections and indexes', 'fail', `missing: ${missing.join(', ')}`, 'run journeyctl migrate'));
    } else {
      checks.push(row('schema', 'ok', 'created when opened (embedded)'));
    }
    return checks;
  } finally {
    await store.close();
  }
}

async function checkAnalytics(config: JourneyConfig): Promise<DoctorCheck[]> {
  const row = (check: string, status: CheckStatus, detail: string, fix = ''): DoctorCheck => ({ component: 'analytics store', check, status, detail, fix });
  const analytics = config.stores.analytics;
  if (analytics.engine === 'chdb') return [row('reachable', 'ok', `embedded chdb in ${config.dataDir}/analytics (opened by one process at a time; tables created when opened)`)];
  try {
    const found = await inspectClickHouse(analytics);
    return [
      row('reachable', 'ok', `ClickHouse at ${redactUrl(analytics.url)}, database ${analytics.database}`),
      row('version', 'ok', `ClickHouse ${found.version}`),
      found.missingTables.length === 0 ? row('tables', 'ok', 'all present') : row('tables', 'fail', `missing in ${analytics.database}: ${found.missingTables.join(', ')}`, 'run journeyctl migrate (with --cluster NAME on a cluster)'),
    ];
  } catch (error) {
    const message = isJourneyError(error) ? error.message : String(error);
    return [row('reachable', 'fail', message, isJourneyError(error) && error.hint ? error.hint : `start ClickHouse or fix --clickhouse-url; docker compose up -d clickhouse`)];
  }
}

async function checkKafka(config: JourneyConfig, log: (message: string) => void): Promise<DoctorCheck[]> {
  const row = (check: string, status: CheckStatus, detail: string, fix = ''): DoctorCheck => ({ component: 'kafka', check, status, detail, fix });
  const kafka = config.kafka;
  if (kafka.brokers.length === 0) return [row('configured', 'skip', 'no brokers configured (needed only for run --source kafka and produce)', '')];
  try {
    const found = await inspectKafka(kafka, log);
    const checks = [row('reachable', 'ok', `brokers ${found.brokers.map((b) => `${b.nodeId}@${b.address}`).join(', ')}`), row('version', 'ok', found.version ? `inter-broker protocol ${found.version}` : 'not reported by the broker')];
    if (found.topic === null) checks.push(row('topic', 'skip', 'no topic configured (--topic, JOURNEY_KAFKA_TOPIC, kafka.topic)'));
    else if (!found.topic.exists) checks.push(row('topic', 'fail', `${found.topic.name} does not exist`, `journeyctl migrate --topic ${found.topic.name} (or produce --partitions N)`));
    else checks.push(row('topic', 'ok', `${found.topic.name}: ${found.topic.partitions} partitions`));
    if (found.group) checks.push(row('consumer group', 'ok', `${found.group.id}: ${found.group.committed} of ${found.group.end} messages committed (lag ${found.group.end - found.group.committed})`));
    return checks;
  } catch (error) {
    const message = isJourneyError(error) ? error.message : String(error);
    return [row('reachable', 'fail', message, isJourneyError(error) && error.hint ? error.hint : 'start Kafka or fix --brokers; docker compose up -d kafka')];
  }
}

function withOption(url: string, name: string, value: string): string {
  if (new RegExp(`[?&]${name}=`, 'i').test(url)) return url;
  return `${url}${url.includes('?') ? '&' : url.replace(/^mongodb(\+srv)?:\/\/[^/]*/, '') === '' ? '/?' : '?'}${name}=${value}`;
}

/** `journeyctl doctor`: runs the checks, prints them, exit 3 when one failed. */
export async function doctorCommand(ctx: CommandContext, options: { output?: string; thorough?: boolean; only?: 'raw' | 'analytics' | 'kafka' }): Promise<void> {
  const checks = await runDoctor(ctx, options);
  const format = resolveOutputFormat(options.output, Boolean(ctx.io.stdout.isTTY), ctx.io.env);
  await writeRecords(
    (async function* () {
      for (const check of checks) yield { ...check };
    })(),
    format,
    ctx.io.stdout,
    ctx.log,
  );
  const failed = checks.filter((check) => check.status === 'fail');
  if (failed.length > 0) {
    throw new InfrastructureError(`${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.map((check) => `${check.component} ${check.check}`).join(', ')}`, {
      hint: 'see the fix column above',
      retriable: false,
    });
  }
}
