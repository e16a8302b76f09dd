import { type Command, Option } from 'commander';
import { OUTPUTS, outputOption, resolveOutput } from '../render/output-option.js';
import type { KafkaContext } from './produce.js';
import { waitOption } from './shared-options.js';

/** `journeyctl run` on the command tree; the stores and the Kafka or Pub/Sub source load when it runs. */
export function registerRunCommand(program: Command, context: KafkaContext): void {
  program
    .command('run')
    .description('ingest NDJSON events (file, stdin, a Kafka topic or a Pub/Sub subscription) into the stores and derive sessions')
    .option('-i, --input <path>', 'NDJSON file, or - for stdin')
    .addOption(
      new Option('--source <kind>', 'file (--input), kafka (a consumer group) or pubsub (a subscription); a stream stops on SIGINT/SIGTERM or a bound below')
        .choices(['file', 'kafka', 'pubsub'])
        .default('file'),
    )
    .option('--brokers <list>', 'kafka: host:port[,host:port…]; env JOURNEY_KAFKA_BROKERS, config kafka.brokers')
    .option('--topic <name>', 'kafka: topic to consume; env JOURNEY_KAFKA_TOPIC, config kafka.topic')
    .option('--group <id>', 'kafka: consumer group (default journeyctl); env JOURNEY_KAFKA_GROUP, config kafka.group')
    .option('--subscription <name>', 'pubsub: projects/P/subscriptions/S (or S with --project); env JOURNEY_PUBSUB_SUBSCRIPTION, config pubsub.subscription')
    .option('--project <id>', 'pubsub: project of a short subscription name; env JOURNEY_PUBSUB_PROJECT or GOOGLE_CLOUD_PROJECT, config pubsub.project')
    .addOption(waitOption())
    .option('--no-progress', 'no progress bar even on a terminal')
    .option('--accept-all-rejected', 'store an input even when under 1% of its first 1,000 lines are valid events (default: stop, exit 2)')
    .option(
      '--until-caught-up',
      'a micro-batch: kafka reads what the partitions held at the start; pubsub (no end offsets) reads until a pull comes back empty after the last message; store, acknowledge, derive, exit 0',
    )
    .option('--max-events <n>', 'kafka, pubsub: stop cleanly after this many messages (acknowledges what is stored; kafka says the lag left)')
    .option('--max-duration <duration>', 'kafka, pubsub: stop cleanly after this long, e.g. 4m (acknowledges what is stored; kafka says the lag left)')
    .option('--fail-on-lag', 'kafka: exit 1 when --max-events/--max-duration stopped the run with lag left')
    .addOption(outputOption(OUTPUTS.summary))
    .action(
      async (options: {
        input?: string;
        source: 'file' | 'kafka' | 'pubsub';
        brokers?: string;
        topic?: string;
        group?: string;
        subscription?: string;
        project?: string;
        wait: string;
        progress: boolean;
        output?: string;
        acceptAllRejected?: boolean;
        untilCaughtUp?: boolean;
        maxEvents?: string;
        maxDuration?: string;
        failOnLag?: boolean;
      }) => {
        const ctx = context({ ...options, stream: options.source === 'file' ? undefined : options.source });
        const asJson = resolveOutput(options.output, OUTPUTS.summary, ctx.interactive) === 'json';
        const { runIngest } = await import('./run.js');
        const { formatSummaryText, summaryRecord } = await import('../render/run-summary.js');
        const { streamBoundsFor } = await import('./stream-run.js');
        const summary = await runIngest(ctx, { ...options, bounds: streamBoundsFor(options.source, options) });
        // A stream's summary loads with its client library (~0.4 CPU-s for kafkajs and Pub/Sub): only after a stream run.
        const stream = summary.kafka ? (await import('./kafka-run.js')).kafkaSummary(summary.kafka) : summary.pubsub ? (await import('./pubsub-run.js')).pubsubSummary(summary.pubsub) : null;
        ctx.io.stdout.write(asJson ? `${JSON.stringify({ ...summaryRecord(summary), ...stream?.record })}\n` : `${formatSummaryText(summary)}${stream?.text ?? ''}`);
        if (summary.kafka) (await import('./kafka-run.js')).checkLag(summary.kafka, Boolean(options.failOnLag));
      },
    );
}
