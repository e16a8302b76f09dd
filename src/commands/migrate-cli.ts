import type { Command } from 'commander';
import type { MigrateOptions } from './migrate.js';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { KafkaContext } from './produce.js';
import { waitOption } from './shared-options.js';

/** `journeyctl migrate` on the command tree; the engines load when it runs. */
export function registerMigrateCommand(program: Command, context: KafkaContext): void {
  program
    .command('migrate')
    .description('create the raw-store indexes, the analytics tables and the Kafka topic of the configured engines (idempotent)')
    .option('--cluster <name>', 'ClickHouse server only: CREATE … ON CLUSTER <name> with Replicated*MergeTree engines (Keeper path /clickhouse/tables/{shard}/{database}/{table}, replica {replica})')
    .option('--topic <name>', 'Kafka topic to create if missing; env JOURNEY_KAFKA_TOPIC, config kafka.topic')
    .option('--brokers <list>', 'host:port[,host:port…]; env JOURNEY_KAFKA_BROKERS, config kafka.brokers')
    .option('--partitions <n>', 'partitions of the Kafka topic when it is created', '3')
    .addOption(waitOption())
    .addOption(outputOption(OUTPUTS.records))
    .action(async (options: MigrateOptions & { topic?: string; brokers?: string; output?: string }) => {
      const { migrateCommand } = await import('./migrate.js');
      await migrateCommand(context({ brokers: options.brokers, topic: options.topic }), options);
    });
}
