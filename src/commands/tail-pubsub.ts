import { userInfo } from 'node:os';
import { UsageError } from '../errors.js';
import { pubsubTailRecord } from '../render/tail-records.js';
import { openPubSubTail } from '../sources/pubsub-tail.js';
import type { CommandContext } from './context.js';
import { type FeedSettings, streamMessageFilter, type TailFeed } from './tail-feed.js';
import { appVersionOf, eventNameOf, parseLimit } from './tail-filter.js';

const TAKE_WAIT_MS = 250;

/**
 * `tail --source pubsub`: a topic through a subscription of the tail's own (src/sources/pubsub-tail.ts,
 * ADR 0015), never the pipeline's. Pub/Sub has no offsets: a new subscription shows what is
 * published from now on; `--since` seeks the subscription to that time (it brings back what the
 * subscription or the topic retains); `--subscription NAME` keeps one between tails.
 */
/** The flags of tail this feed reads (TailOptions has them). */
export interface PubSubFeedOptions {
  offset?: string | undefined;
  subscription?: string | undefined;
  buffer?: string | undefined;
  follow: boolean;
}

export async function openPubSubFeed(context: CommandContext, options: PubSubFeedOptions, settings: FeedSettings & { since: number | undefined }): Promise<TailFeed> {
  const { pubsub } = context.config;
  if (options.offset !== undefined) {
    throw new UsageError('--offset does not apply to Pub/Sub: it has no offsets', {
      hint: 'a new subscription starts now; --since TIME seeks to a time (what the topic or subscription retains); --subscription NAME keeps one between tails',
    });
  }
  const subscription = options.subscription === undefined ? null : fullSubscriptionName(options.subscription, pubsub.project, pubsub.topic);
  if (pubsub.topic === null && subscription === null) throw new UsageError('--source pubsub needs a topic', { hint: 'pass --topic projects/P/topics/T or set JOURNEY_PUBSUB_TOPIC' });
  const bufferSize = options.buffer === undefined ? 1_000 : parseLimit(options.buffer)!;
  const kept = streamMessageFilter(settings);
  const reader = await openPubSubTail({
    pubsub,
    topic: pubsub.topic,
    subscription,
    owner: ownerName(),
    ...(settings.since !== undefined ? { seekTo: settings.since } : {}),
    follow: options.follow,
    bufferSize,
    keep: (message) => kept({ time: message.publishTime, json: message.json, text: message.text }, () => message.pubsubMessageId),
    log: context.log,
  });
  context.log(`tail: reading ${reader.topic} through ${reader.created ? 'its own new subscription' : 'subscription'} ${reader.subscription}${reader.created ? ' (deleted when tail stops)' : ''}`);
  return {
    description: `pubsub ${reader.topic} via ${reader.subscription}`,
    note:
      reader.created && !options.follow && settings.since === undefined
        ? 'a new subscription sees only what is published after it was created: use --follow, or --subscription NAME to keep one between tails'
        : undefined,
    dropped: () => reader.dropped,
    behind: () => undefined,
    async read() {
      const messages = await reader.take(TAKE_WAIT_MS);
      const records = messages.map((message) =>
        pubsubTailRecord({ ...message, event: message.json ? eventNameOf(message.json) : null, appVersion: message.json ? appVersionOf(message.json) : null }, settings.redactor),
      );
      return { records, caughtUp: messages.length === 0, finished: reader.finished() };
    },
    close: () => reader.close(),
  };
}

/** A subscription named on the command line: a short name is in the topic's project (else pubsub.project). */
function fullSubscriptionName(name: string, project: string | null, topic: string | null): string {
  if (/^projects\/[^/]+\/subscriptions\/[^/]+$/.test(name)) return name;
  if (name.includes('/')) throw new UsageError(`--subscription "${name}" is not projects/P/subscriptions/NAME or NAME`);
  const inProject = (topic !== null ? /^projects\/([^/]+)\//.exec(topic)?.[1] : undefined) ?? project;
  if (!inProject) throw new UsageError(`--subscription "${name}" is a short name and no project is set`, { hint: 'pass --project, or the full name projects/P/subscriptions/NAME' });
  return `projects/${inProject}/subscriptions/${name}`;
}

function ownerName(): string {
  try {
    return userInfo().username || 'user';
  } catch {
    return 'user';
  }
}
