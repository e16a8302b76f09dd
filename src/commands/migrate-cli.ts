import { type Command, Option } from 'commander';
import type { MigrateOptions } from './migrate.js';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { KafkaContext } from './produce.js';
import { waitOption } from './shared-options.js';

/** `journeyctl migrate` on the command tree; the engines load when it runs. */
export function registerMigrateCommand(program: Command, context: KafkaContext): void {
  program
    .command('migrate')
    .description('create the raw-store indexes, the analytics tables, and the Kafka topic or the Pub/Sub topic and pipeline subscription, as configured (idempotent)')
    .option('--cluster <name>', 'ClickHouse server only: CREATE … ON CLUSTER <name> with Replicated*MergeTree engines (Keeper path /clickhouse/tables/{shard}/{database}/{table}, replica {replica})')
    .addOption(new Option('--source <kind>', "which stream --topic names: kafka or pubsub (default the config's source:, env JOURNEY_SOURCE)").choices(['kafka', 'pubsub']))
    .option('--topic <name>', 'topic to create if missing: Kafka (env JOURNEY_KAFKA_TOPIC, config kafka.topic) or Pub/Sub (projects/P/topics/T; env JOURNEY_PUBSUB_TOPIC, config pubsub.topic)')
    .option(
      '--subscription <name>',
      "pubsub: the pipeline's subscription to create (default journeyctl; env JOURNEY_PUBSUB_SUBSCRIPTION, config pubsub.subscription), with pubsub.ack_deadline (60s) and message ordering",
    )
    .option('--project <id>', 'pubsub: project of short names; env JOURNEY_PUBSUB_PROJECT, config pubsub.project')
    .option('--brokers <list>', 'host:port[,host:port…]; env JOURNEY_KAFKA_BROKERS, config kafka.brokers')
    .option('--partitions <n>', 'partitions of the Kafka topic when it is created', '3')
    .addOption(waitOption())
    .addOption(outputOption(OUTPUTS.records))
    .action(async (options: MigrateOptions & { source?: 'kafka' | 'pubsub'; topic?: string; brokers?: string; subscription?: string; project?: string; output?: string }) => {
      const { migrateCommand } = await import('./migrate.js');
      const { contextForStream } = await import('./stream-flags.js');
      const { ctx } = contextForStream(context, { brokers: options.brokers, topic: options.topic, subscription: options.subscription, project: options.project }, options.source);
      await migrateCommand(ctx, options);
    });
}
