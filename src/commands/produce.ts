import { type Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { write } from '../render/output.js';
import { createFileSource } from '../sources/file-source.js';
import { produceLines, type ProduceResult } from '../sources/kafka-source.js';
import type { CommandContext } from './context.js';

export interface ProduceOptions {
  input: string;
  partitions?: string;
}

/** `journeyctl produce`: NDJSON lines to a Kafka topic (replays, tests, benchmarks). */
export async function runProduce(context: CommandContext, options: ProduceOptions): Promise<ProduceResult & { topic: string }> {
  const partitions = options.partitions === undefined ? undefined : Number(options.partitions);
  if (partitions !== undefined && (!Number.isInteger(partitions) || partitions < 1)) throw new UsageError(`--partitions must be a positive integer (got "${options.partitions}")`);
  const source = createFileSource({ input: options.input, batchSize: 5_000, stdin: context.io.stdin });
  async function* lines(): AsyncIterable<string> {
    for await (const batch of source.batches()) yield* batch.lines;
  }
  try {
    const result = await produceLines(context.config.kafka, lines(), { log: context.log, partitions });
    return { ...result, topic: context.config.kafka.topic! };
  } finally {
    await source.close();
  }
}

export type KafkaContext = (flags: { brokers?: string; topic?: string; group?: string }) => CommandContext;

export function registerProduceCommand(program: Command, context: KafkaContext): void {
  program
    .command('produce')
    .description('publish NDJSON lines (file or stdin) to a Kafka topic, one message per line, keyed by anonymousId (or userId)')
    .requiredOption('-i, --input <path>', 'NDJSON file, or - for stdin')
    .option('--topic <name>', 'topic; env JOURNEY_KAFKA_TOPIC, config kafka.topic')
    .option('--brokers <list>', 'host:port[,host:port…]; env JOURNEY_KAFKA_BROKERS, config kafka.brokers')
    .option('--partitions <n>', 'create the topic with this many partitions if it does not exist')
    .addOption(new Option('-o, --output <format>', 'summary as text or json (default: text on a terminal, json when piped)').choices(['text', 'json']))
    .action(async (options: ProduceOptions & { topic?: string; brokers?: string; output?: string }) => {
      const ctx = context({ brokers: options.brokers, topic: options.topic });
      const result = await runProduce(ctx, options);
      const asJson = options.output ? options.output === 'json' : !ctx.interactive;
      await write(
        ctx.io.stdout,
        asJson ? `${JSON.stringify({ topic: result.topic, messages: result.messages, unkeyed: result.unkeyed })}\n` : `published ${result.messages} messages to ${result.topic}${result.unkeyed ? ` (${result.unkeyed} without an id, unkeyed)` : ''}\n`,
      );
    });
}
