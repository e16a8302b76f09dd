import type { JourneyConfig } from '../config/config.js';
import { InfrastructureError, isJourneyError } from '../errors.js';
import { writeRecords } from '../render/output.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { inspectKafka } from '../sources/kafka-source.js';
import { analyticsEngineAdmin, type EngineAdmin, rawEngineAdmin } from '../stores/engine-admin.js';
import type { CommandContext } from './context.js';
import type { CheckStatus, DoctorCheck } from './doctor-check.js';
import { checkEmbeddedDamage } from './doctor-damage.js';
import { checkPubSub } from './doctor-pubsub.js';

export type { CheckStatus, DoctorCheck } from './doctor-check.js';
/** `--only`: one component's rows (a probe). */
export type DoctorComponent = 'raw' | 'analytics' | 'kafka' | 'pubsub';

/**
 * `journeyctl doctor`: each configured engine — reachable (and authenticated), its version, and
 * whether what migrate creates is there (indexes, tables, topic). Data for the table/JSON
 * renderers; the command exits 3 when something failed.
 */
export async function runDoctor(context: CommandContext, options: { thorough?: boolean; only?: DoctorComponent } = {}): Promise<DoctorCheck[]> {
  const { config } = context;
  if (options.only === 'raw') return checkStore('raw store', rawEngineAdmin(config));
  if (options.only === 'analytics') return checkStore('analytics store', analyticsEngineAdmin(config));
  if (options.only === 'kafka') return checkKafka(config, context.log);
  if (options.only === 'pubsub') return checkPubSub(config);
  const damage = await checkEmbeddedDamage(config, { thorough: Boolean(options.thorough), log: context.log });
  return [
    ...(await checkStore('raw store', rawEngineAdmin(config))),
    ...(await checkStore('analytics store', analyticsEngineAdmin(config))),
    ...damage,
    ...(await checkKafka(config, context.log)),
    ...(await checkPubSub(config)),
  ];
}

/** Each store's own health rows (stores/engine-admin.ts): no engine is named here. */
async function checkStore(component: 'raw store' | 'analytics store', admin: EngineAdmin): Promise<DoctorCheck[]> {
  return (await admin.health()).map((row) => ({ component, ...row }));
}

async function checkKafka(config: JourneyConfig, log: (message: string) => void): Promise<DoctorCheck[]> {
  const row = (check: string, status: CheckStatus, detail: string, fix = ''): DoctorCheck => ({ component: 'kafka', check, status, detail, fix });
  const kafka = config.kafka;
  if (kafka.brokers.length === 0) return [row('configured', 'skip', 'no brokers configured (needed only for run --source kafka and produce)', '')];
  try {
    const found = await inspectKafka(kafka, log);
    const checks = [
      row('reachable', 'ok', `brokers ${found.brokers.map((b) => `${b.nodeId}@${b.address}`).join(', ')}`),
      row('version', 'ok', found.version ? `inter-broker protocol ${found.version}` : 'not reported by the broker'),
    ];
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

/** `journeyctl doctor`: runs the checks, prints them, exit 3 when one failed. */
export async function doctorCommand(ctx: CommandContext, options: { output?: string; thorough?: boolean; only?: DoctorComponent }): Promise<void> {
  const checks = await runDoctor(ctx, options);
  const format = resolveOutput(options.output, OUTPUTS.records, ctx.interactive);
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
