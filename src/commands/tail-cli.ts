import { type Command, Option } from 'commander';
import type { KafkaContext } from './produce.js';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { TailOptions } from './tail.js';
import { TAIL_SOURCES } from './tail-filter.js';

/** `journeyctl tail` on the command tree; the stores, kafkajs and ink load when it runs. */
export function registerTailCommand(program: Command, context: KafkaContext): void {
  program
    .command('tail')
    .description('show events as they arrive: from the raw store, the rejected store, Kafka or Pub/Sub (read-only; never slows the pipeline)')
    .addOption(
      new Option('--source <source>', 'raw (accepted events) | rejected (refused lines) | kafka (the input topic) | pubsub (the input topic, through a subscription of its own)')
        .choices([...TAIL_SOURCES])
        .default('raw'),
    )
    .option('--user <id>', 'only this user: the id as sent (userId, anonymousId), plus the ids stitched to the same person (stores)')
    .option('--event <name>', 'only events with this name')
    .option('--app-version <version>', 'only events from this app version')
    .option('--where <key=value>', 'only events whose property (or context.x / traits.x) has this value; repeatable', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--grep <regex>', 'only records whose original line matches this regular expression')
    .option('--since <time>', 'received at or after this time: ISO-8601, epoch, now/today/yesterday, or 2h/3d ago')
    .option('--until <time>', 'received before this time (a following tail stops once it has passed)')
    .option('--tz <zone>', 'zone for zone-less times and today/yesterday', 'UTC')
    .option('--from <time>', 'the same as --since (--from is a time in every command)')
    .option('--to <time>', 'the same as --until')
    .option('--offset <position>', 'beginning | end | a cursor printed by an earlier tail (stores) | an offset (kafka); default end with --follow, else beginning; not pubsub (no offsets)')
    .option('-n, --limit <n>', 'stop after this many records; with --interval, show at most this many per interval (default 100)')
    .option('-i, --interval <ms>', 'like vector tap: show at most --limit records every this many ms (>= 100), drop and count the rest (a terminal always draws at most 100 per 500 ms)')
    .option('--sample <rate>', 'keep about this fraction, the same records every time (hash of the message id), e.g. 0.1')
    .option('-f, --follow', 'keep reading new records as they land (Ctrl-C to stop)')
    .addOption(outputOption(OUTPUTS.tail))
    .option('--no-redact', 'show the fields the config lists under redact: (they are masked by default)')
    .option('--brokers <list>', 'kafka: host:port[,host:port]; env JOURNEY_KAFKA_BROKERS')
    .option('--topic <name>', 'kafka: the input topic (env JOURNEY_KAFKA_TOPIC); pubsub: projects/P/topics/T (env JOURNEY_PUBSUB_TOPIC)')
    .option('--buffer <n>', 'kafka, pubsub: matching messages held for a slow output before new ones are dropped (and counted)', '1000')
    .option(
      '--subscription <name>',
      "pubsub: a subscription of the tail's own, kept between tails (created on the topic if missing; never the pipeline's). Default: a new one for this tail, deleted when it stops",
    )
    .option('--project <id>', 'pubsub: project of short names; env JOURNEY_PUBSUB_PROJECT')
    .addHelpText(
      'after',
      `
Pub/Sub (--source pubsub) differs from Kafka: there are no offsets (--offset is refused) and a new
subscription sees only what is published after it is created, so without --follow a tail on a new
subscription usually shows nothing. --since seeks the subscription to that time, which brings back
what the topic (message retention) or a kept subscription retains; the emulator of the Google Cloud
CLI cannot seek. --subscription NAME keeps a subscription, so the next tail resumes where this one
stopped. tail acks only its own subscription: the pipeline's subscription is never read.`,
    )
    .action(async (options: Omit<TailOptions, 'color' | 'follow'> & { follow?: boolean; project?: string }) => {
      // --subscription is the tail's own, not the pipeline's: it stays out of the config (pubsub.subscription is what tail refuses to read).
      const ctx = context({ brokers: options.brokers, topic: options.topic, project: options.project, stream: options.source === 'pubsub' ? 'pubsub' : undefined });
      const { runTail } = await import('./tail.js');
      await runTail(ctx, { ...options, follow: Boolean(options.follow), color: ctx.color });
    });
}
