import { type Command, Option } from 'commander';
import type { KafkaContext, ProduceOptions } from './produce.js';
import { OUTPUTS, outputOption } from '../render/output-option.js';

/** `journeyctl produce` on the command tree; kafkajs or the Pub/Sub client loads when it runs. */
export function registerProduceCommand(program: Command, context: KafkaContext): void {
  program
    .command('produce')
    .description('publish NDJSON lines (file or stdin) to a Kafka or Pub/Sub topic, one message per line, keyed by anonymousId (or userId)')
    .requiredOption('-i, --input <path>', 'NDJSON file, or - for stdin')
    .addOption(new Option('--sink <kind>', "kafka (partition key) or pubsub (ordering key); default the config's source: (env JOURNEY_SOURCE), else kafka").choices(['kafka', 'pubsub']))
    .option('--topic <name>', 'kafka: topic (env JOURNEY_KAFKA_TOPIC, config kafka.topic); pubsub: projects/P/topics/T or T with --project (env JOURNEY_PUBSUB_TOPIC, config pubsub.topic)')
    .option('--brokers <list>', 'kafka: host:port[,host:port…]; env JOURNEY_KAFKA_BROKERS, config kafka.brokers')
    .option('--partitions <n>', 'kafka: create the topic with this many partitions if it does not exist')
    .option('--project <id>', 'pubsub: project of a short topic name; env JOURNEY_PUBSUB_PROJECT, config pubsub.project')
    .addOption(outputOption(OUTPUTS.summary))
    .action(async (options: ProduceOptions & { sink?: 'kafka' | 'pubsub'; topic?: string; brokers?: string; project?: string; output?: string }) => {
      const { produceCommand } = await import('./produce.js');
      const { contextForStream } = await import('./stream-flags.js');
      const { ctx, stream } = contextForStream(context, { brokers: options.brokers, topic: options.topic, project: options.project }, options.sink);
      await produceCommand(ctx, { ...options, sink: stream });
    });
}
