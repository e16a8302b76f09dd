import type { Command } from 'commander';
import type { KafkaContext, ProduceOptions } from './produce.js';
import { OUTPUTS, outputOption } from '../render/output-option.js';

/** `journeyctl produce` on the command tree; kafkajs loads when it runs. */
export function registerProduceCommand(program: Command, context: KafkaContext): void {
  program
    .command('produce')
    .description('publish NDJSON lines (file or stdin) to a Kafka topic, one message per line, keyed by anonymousId (or userId)')
    .requiredOption('-i, --input <path>', 'NDJSON file, or - for stdin')
    .option('--topic <name>', 'topic; env JOURNEY_KAFKA_TOPIC, config kafka.topic')
    .option('--brokers <list>', 'host:port[,host:port…]; env JOURNEY_KAFKA_BROKERS, config kafka.brokers')
    .option('--partitions <n>', 'create the topic with this many partitions if it does not exist')
    .addOption(outputOption(OUTPUTS.summary))
    .action(async (options: ProduceOptions & { topic?: string; brokers?: string; output?: string }) => {
      const { produceCommand } = await import('./produce.js');
      await produceCommand(context({ brokers: options.brokers, topic: options.topic }), options);
    });
}
