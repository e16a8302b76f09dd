import { UsageError } from '../errors.js';
import { writeRecords } from '../render/output.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { ensureKafkaTopic } from '../sources/kafka-source.js';
import { analyticsEngineAdmin, rawEngineAdmin } from '../stores/engine-admin.js';
import { type CommandContext, parseDurationFlag } from './context.js';

export interface MigrateOptions {
  /** ClickHouse cluster: ON CLUSTER and Replicated engines. */
  cluster?: string;
  /** Partitions of the Kafka topic when migrate creates it. */
  partitions?: string;
  wait: string;
}

export interface MigrateStep {
  component: 'raw store' | 'analytics store' | 'kafka topic' | 'pubsub topic' | 'pubsub subscription';
  engine: string;
  done: string;
}

/**
 * `journeyctl migrate`: creates what the configured engines need — raw-store collections and
 * indexes (MongoDB), analytics database and tables (ClickHouse, optionally ON CLUSTER), the Kafka
 * topic when one is configured, the Pub/Sub topic and the pipeline's subscription (ack deadline,
 * message ordering) when one is. Idempotent: existing objects are left as they are.
 */
export async function runMigrate(context: CommandContext, options: MigrateOptions): Promise<MigrateStep[]> {
  const { config } = context;
  const partitions = options.partitions === undefined ? 3 : Number(options.partitions);
  if (!Number.isInteger(partitions) || partitions < 1) throw new UsageError(`--partitions must be a positive integer (got "${options.partitions}")`);
  if (options.cluster !== undefined && config.stores.analytics.engine !== 'clickhouse' && config.stores.raw.engine !== 'clickhouse') {
    throw new UsageError('--cluster applies to a ClickHouse server', { hint: 'pass --clickhouse-url (or stores.analytics.url) as well' });
  }
  const steps: MigrateStep[] = [];
  const migrateOptions = { cluster: options.cluster, command: 'journeyctl migrate', waitMs: parseDurationFlag('wait', options.wait), log: context.log };
  for (const [component, admin] of [
    ['raw store', rawEngineAdmin(config)],
    ['analytics store', analyticsEngineAdmin(config)],
  ] as const) {
    steps.push({ component, engine: admin.engine, done: await admin.migrate(migrateOptions) });
  }

  const kafka = config.kafka;
  if (kafka.brokers.length > 0 && kafka.topic) {
    const created = await ensureKafkaTopic(kafka, partitions, context.log);
    steps.push({ component: 'kafka topic', engine: 'kafka', done: created ? `created ${kafka.topic} with ${partitions} partitions` : `${kafka.topic} exists` });
  }
  if (config.pubsub.topic || config.streamSource === 'pubsub') {
    const { ensurePubSub } = await import('../sources/pubsub-admin.js');
    const done = await ensurePubSub(config.pubsub);
    steps.push({ component: 'pubsub topic', engine: 'pubsub', done: done.topic }, { component: 'pubsub subscription', engine: 'pubsub', done: done.subscription });
  }
  return steps;
}

/** `journeyctl migrate`: runs the steps and prints them. */
export async function migrateCommand(ctx: CommandContext, options: MigrateOptions & { output?: string }): Promise<void> {
  const steps = await runMigrate(ctx, options);
  const format = resolveOutput(options.output, OUTPUTS.records, ctx.interactive);
  await writeRecords(list(steps), format, ctx.io.stdout, ctx.log);
}

async function* list(items: readonly MigrateStep[]): AsyncIterable<Record<string, unknown>> {
  for (const item of items) yield { ...item };
}
