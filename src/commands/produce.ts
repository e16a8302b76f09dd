import { UsageError } from '../errors.js';
import { write } from '../render/output.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { createFileSource } from '../sources/file-source.js';
import type { ProduceResult } from '../sources/publish-line.js';
import type { CommandContext } from './context.js';
import type { StreamContext } from './stream-flags.js';

export interface ProduceOptions {
  input: string;
  partitions?: string;
  /** Where to publish: Kafka (default) or Pub/Sub. */
  sink?: 'kafka' | 'pubsub';
}

/** `journeyctl produce`: NDJSON lines to a Kafka or Pub/Sub topic (replays, tests, benchmarks). */
export async function runProduce(context: CommandContext, options: ProduceOptions): Promise<ProduceResult & { topic: string }> {
  const partitions = options.partitions === undefined ? undefined : Number(options.partitions);
  if (partitions !== undefined && (!Number.isInteger(partitions) || partitions < 1)) throw new UsageError(`--partitions must be a positive integer (got "${options.partitions}")`);
  if (partitions !== undefined && options.sink === 'pubsub')
    throw new UsageError('--partitions is for Kafka: a Pub/Sub topic has none', { hint: 'create the topic and the pipeline subscription with journeyctl migrate --source pubsub' });
  const source = createFileSource({ input: options.input, batchSize: 5_000, stdin: context.io.stdin });
  async function* lines(): AsyncIterable<string> {
    for await (const batch of source.batches()) yield* batch.lines;
  }
  try {
    if (options.sink === 'pubsub') {
      const { publishLines } = await import('../sources/pubsub-admin.js');
      return { ...(await publishLines(context.config.pubsub, lines(), { log: context.log })), topic: context.config.pubsub.topic! };
    }
    const { produceLines } = await import('../sources/kafka-source.js');
    const result = await produceLines(context.config.kafka, lines(), { log: context.log, partitions });
    return { ...result, topic: context.config.kafka.topic! };
  } finally {
    await source.close();
  }
}

/** A command context with the stream flags of the command (Kafka or Pub/Sub, see stream-flags.ts). */
export type KafkaContext = StreamContext;

/** `journeyctl produce`: publishes the lines and prints a summary. */
export async function produceCommand(ctx: CommandContext, options: ProduceOptions & { output?: string }): Promise<void> {
  const asJson = resolveOutput(options.output, OUTPUTS.summary, ctx.interactive) === 'json';
  const result = await runProduce(ctx, options);
  await write(
    ctx.io.stdout,
    asJson
      ? `${JSON.stringify({ topic: result.topic, messages: result.messages, unkeyed: result.unkeyed })}\n`
      : `published ${result.messages} messages to ${result.topic}${result.unkeyed ? ` (${result.unkeyed} without an id, unkeyed)` : ''}\n`,
  );
}
