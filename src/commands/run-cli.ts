import { type Command, Option } from 'commander';
import { OUTPUTS, outputOption, resolveOutput } from '../render/output-option.js';
import type { KafkaContext } from './produce.js';
import { waitOption } from './shared-options.js';

/** `journeyctl run` on the command tree; the stores and the Kafka source load when it runs. */
export function registerRunCommand(program: Command, context: KafkaContext): void {
  program
    .command('run')
    .description('ingest NDJSON events (file, stdin or a Kafka topic) into the stores and derive sessions')
    .option('-i, --input <path>', 'NDJSON file, or - for stdin')
    .addOption(new Option('--source <kind>', 'file (--input) or kafka (a consumer group; stops on SIGINT/SIGTERM or a bound below)').choices(['file', 'kafka']).default('file'))
    .option('--brokers <list>', 'kafka: host:port[,host:port…]; env JOURNEY_KAFKA_BROKERS, config kafka.brokers')
    .option('--topic <name>', 'kafka: topic to consume; env JOURNEY_KAFKA_TOPIC, config kafka.topic')
    .option('--group <id>', 'kafka: consumer group (default journeyctl); env JOURNEY_KAFKA_GROUP, config kafka.group')
    .addOption(waitOption())
    .option('--no-progress', 'no progress bar even on a terminal')
    .option('--accept-all-rejected', 'store an input even when under 1% of its first 1,000 lines are valid events (default: stop, exit 2)')
    .option('--until-caught-up', 'kafka: a micro-batch: read what the partitions held at the start, store, commit, derive, exit 0')
    .option('--max-events <n>', 'kafka: stop cleanly after this many messages (commits what is stored, says the lag left)')
    .option('--max-duration <duration>', 'kafka: stop cleanly after this long, e.g. 4m (commits what is stored, says the lag left)')
    .option('--fail-on-lag', 'kafka: exit 1 when --max-events/--max-duration stopped the run with lag left')
    .addOption(outputOption(OUTPUTS.summary))
    .action(
      async (options: {
        input?: string;
        source: 'file' | 'kafka';
        brokers?: string;
        topic?: string;
        group?: string;
        wait: string;
        progress: boolean;
        output?: string;
        acceptAllRejected?: boolean;
        untilCaughtUp?: boolean;
        maxEvents?: string;
        maxDuration?: string;
        failOnLag?: boolean;
      }) => {
        const ctx = context(options);
        const asJson = resolveOutput(options.output, OUTPUTS.summary, ctx.interactive) === 'json';
        const { runIngest } = await import('./run.js');
        const { formatSummaryText, summaryRecord } = await import('../render/run-summary.js');
        const { checkLag, kafkaBoundsFor, kafkaSummary } = await import('./kafka-run.js');
        const summary = await runIngest(ctx, { ...options, kafka: kafkaBoundsFor(options.source, options) });
        const kafka = summary.kafka ? kafkaSummary(summary.kafka) : null;
        ctx.io.stdout.write(asJson ? `${JSON.stringify({ ...summaryRecord(summary), ...kafka?.record })}\n` : `${formatSummaryText(summary)}${kafka?.text ?? ''}`);
        if (summary.kafka) checkLag(summary.kafka, Boolean(options.failOnLag));
      },
    );
}
