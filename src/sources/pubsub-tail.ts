import { randomBytes } from 'node:crypto';
import { type protos, v1 } from '@google-cloud/pubsub';
import { type PubSubConfig, resourceId } from '../config/pubsub-config.js';
import { UsageError } from '../errors.js';
import { subscriptionMetadata } from './pubsub-admin.js';
import { parseMessageObject } from './message-json.js';
import { createTailBuffer, type TailReader } from './tail-buffer.js';
import { createPubSubClient, grpcCode, projectOfName, pubsubFailure } from './pubsub-client.js';

/**
 * A read-only look at a Pub/Sub topic for `journeyctl tail --source pubsub` (ADR 0015).
 *
 * It never reads the pipeline's subscription: a message pulled there would be leased to the
 * tail and hidden from `run` until its ack deadline, and an ack would take it from the pipeline.
 * It reads through a subscription of its own instead: one it creates on the topic
 * (`<topic>-tail-<owner>-<random>`, expiring after a day unused in case the tail is killed, and
 * deleted when the tail stops), or one named by the person (kept, so the next tail resumes
 * there). It acks what it pulls there, kept or not.
 *
 * Pub/Sub has no offsets: a new subscription sees the messages published after it was created.
 * `seekTo` moves a subscription back to a time, which brings back what it retains (with topic
 * retention, or retain_acked_messages on a kept one).
 *
 * Like the Kafka tail it never lets its output hold its reading back: kept messages go into a
 * bounded buffer, and when whoever reads it falls behind, new ones are dropped and counted.
 */
export interface PubSubTailOptions {
  pubsub: PubSubConfig;
  /** The topic to look at (full name), or null with a named subscription that exists. */
  topic: string | null;
  /** The tail's own subscription when named (kept); null creates one for this tail. */
  subscription: string | null;
  /** Who is tailing, for the created subscription's name (the user name). */
  owner: string;
  /** Seek the subscription to this time (epoch ms) before reading. */
  seekTo?: number;
  /** Keep pulling; otherwise stop at the first pull that brings nothing. */
  follow: boolean;
  /** At most this many kept messages wait to be taken; past it, messages are dropped. */
  bufferSize: number;
  /** Decides whether a message is kept (filters, sampling); cheap and synchronous. */
  keep(message: PubSubTailMessage): boolean;
  log: (message: string) => void;
}

export interface PubSubTailMessage {
  topic: string;
  subscription: string;
  /** Pub/Sub's id of the message (not the event's messageId). */
  pubsubMessageId: string;
  /** When Pub/Sub received it, epoch ms. */
  publishTime: number;
  orderingKey: string | null;
  /** The data as UTF-8 text. */
  text: string;
  /** The data parsed, when it is a JSON object. */
  json: Record<string, unknown> | null;
}

/** finished(): not following, a pull brought nothing, and the buffer is empty. */
export interface PubSubTailReader extends TailReader<PubSubTailMessage> {
  readonly topic: string;
  readonly subscription: string;
  /** True when this tail created the subscription (and deletes it on close). */
  readonly created: boolean;
}

/** Most messages one pull brings (Pub/Sub's maximum per pull is 1,000). */
const PULL_MAX = 1_000;
/** A pull waits this long for messages at most; one that times out counts as an empty pull. */
const PULL_WAIT_MS = 5_000;
const ADMIN_CALL = { timeout: 10_000 } as const;
/** A created subscription: expires after a day unused (Pub/Sub's minimum), keeps unacked messages 10 minutes (its minimum). */
const CREATED_SUBSCRIPTION = { ackDeadlineSeconds: 10, expirationPolicy: { ttl: { seconds: 86_400 } }, messageRetentionDuration: { seconds: 600 } } as const;
const DEADLINE_EXCEEDED = 4;
const UNIMPLEMENTED = 12;

export async function openPubSubTail(options: PubSubTailOptions): Promise<PubSubTailReader> {
  const config = options.pubsub;
  const client = createPubSubClient(config, options.topic ?? options.subscription);
  let subscription: string;
  let topic: string;
  let created = false;
  try {
    const own = await ownSubscription(options, client);
    subscription = own.subscription;
    topic = own.topic;
    created = own.created;
  } catch (error) {
    await client.close().catch(() => {});
    if (error instanceof UsageError) throw error;
    throw pubsubFailure(`open a tail subscription on ${options.topic ?? options.subscription}`, error, config);
  }
  const removeCreated = async () => {
    if (created)
      await client
        .subscription(subscription)
        .delete(ADMIN_CALL)
        .catch(() => {});
  };
  let subscriber: v1.SubscriberClient;
  try {
    if (options.seekTo !== undefined) {
      try {
        await client.subscription(subscription).seek(new Date(options.seekTo), ADMIN_CALL);
      } catch (error) {
        if (grpcCode(error) !== UNIMPLEMENTED) throw error;
        options.log(`tail: this Pub/Sub (${config.emulatorHost ? `emulator ${config.emulatorHost}` : 'service'}) cannot seek: showing messages published from now on`);
      }
    }
    // As PubSub's own getSchemaClient does: a generated client on the same endpoint, credentials and options.
    subscriber = new v1.SubscriberClient((await client.getClientConfig()) as ConstructorParameters<typeof v1.SubscriberClient>[0]);
  } catch (error) {
    await removeCreated();
    await client.close().catch(() => {});
    throw pubsubFailure(`seek ${subscription}`, error, config);
  }

  const buffer = createTailBuffer<PubSubTailMessage>(options.bufferSize);
  const notify = () => buffer.notify();
  let read = 0;
  let failure: unknown = null;
  let drained = false;
  let closed = false;

  const pullLoop = async () => {
    while (!closed) {
      let received: protos.google.pubsub.v1.IReceivedMessage[];
      try {
        const [response] = await subscriber.pull({ subscription, maxMessages: PULL_MAX }, { timeout: PULL_WAIT_MS });
        received = response.receivedMessages ?? [];
      } catch (error) {
        if (closed) return;
        if (grpcCode(error) !== DEADLINE_EXCEEDED) {
          failure = error;
          notify();
          return;
        }
        received = [];
      }
      if (closed) return;
      if (received.length === 0) {
        if (!options.follow) {
          drained = true;
          notify();
          return;
        }
        continue;
      }
      // The tail's own subscription: everything pulled is acked at once, kept or not.
      const ackIds = received.map((entry) => entry.ackId).filter((id): id is string => typeof id === 'string');
      await subscriber.acknowledge({ subscription, ackIds }).catch(() => {});
      for (const entry of received) {
        const message = entry.message ?? {};
        read += 1;
        const text = message.data ? Buffer.from(message.data as Uint8Array).toString('utf8') : '';
        const tailed: PubSubTailMessage = {
          topic,
          subscription,
          pubsubMessageId: message.messageId ?? '',
          publishTime: timestampMs(message.publishTime),
          orderingKey: message.orderingKey ? message.orderingKey : null,
          text,
          json: parseMessageObject(text),
        };
        if (!options.keep(tailed)) continue;
        await buffer.offer(tailed, closed);
      }
      notify();
    }
  };
  const looping = pullLoop();

  return {
    topic,
    subscription,
    created,
    get dropped() {
      return buffer.dropped;
    },
    get read() {
      return read;
    },
    async take(waitMs) {
      if (failure !== null) throw pubsubFailure(`pull from ${subscription}`, failure, config);
      const taken = await buffer.take(waitMs, drained);
      if (failure !== null) throw pubsubFailure(`pull from ${subscription}`, failure, config);
      return taken;
    },
    finished: () => drained && buffer.size === 0,
    async close() {
      if (closed) return;
      closed = true;
      buffer.release();
      await removeCreated();
      await subscriber.close().catch(() => {});
      await looping.catch(() => {});
      await client.close().catch(() => {});
    },
  };
}

/** The subscription the tail reads: a named one (never the pipeline's; created when missing and kept), or a new one of its own. */
async function ownSubscription(options: PubSubTailOptions, client: ReturnType<typeof createPubSubClient>): Promise<{ subscription: string; topic: string; created: boolean }> {
  const pipeline = options.pubsub.subscription;
  if (options.subscription !== null) {
    const name = options.subscription;
    if (name === pipeline) {
      throw new UsageError(`${name} is the pipeline's subscription: tail never reads it (the messages it pulled would be hidden from run)`, {
        hint: "name a subscription of the tail's own with --subscription, or leave it out and tail creates one",
      });
    }
    const facts = await subscriptionMetadata(client, name);
    if (facts !== null) {
      if (options.topic !== null && facts.topic !== options.topic)
        throw new UsageError(`subscription ${name} is on topic ${facts.topic}, not ${options.topic}`, { hint: 'name a subscription of this topic, or leave --subscription out' });
      return { subscription: name, topic: facts.topic, created: false };
    }
    const topic = requireTopic(options);
    await createOn(client, topic, name, {});
    options.log(`tail: created subscription ${name} on ${topic} (kept: a later tail with --subscription ${resourceId(name)} resumes there)`);
    return { subscription: name, topic, created: false };
  }
  const topic = requireTopic(options);
  const project = projectOfName(topic) ?? options.pubsub.project;
  const suffix = `-tail-${options.owner.replace(/[^A-Za-z0-9\-_.~+%]/g, '-')}-${randomBytes(3).toString('hex')}`;
  const name = `projects/${project}/subscriptions/${resourceId(topic).slice(0, 255 - suffix.length)}${suffix}`;
  await createOn(client, topic, name, CREATED_SUBSCRIPTION);
  return { subscription: name, topic, created: true };
}

function requireTopic(options: PubSubTailOptions): string {
  if (options.topic === null) throw new UsageError('--source pubsub needs a topic', { hint: 'pass --topic projects/P/topics/T (or JOURNEY_PUBSUB_TOPIC, or pubsub.topic)' });
  return options.topic;
}

async function createOn(client: ReturnType<typeof createPubSubClient>, topic: string, name: string, settings: object): Promise<void> {
  try {
    await client.topic(topic).createSubscription(name, { ...settings, gaxOpts: ADMIN_CALL });
  } catch (error) {
    if (grpcCode(error) === 5) throw new UsageError(`no Pub/Sub topic ${topic}`, { hint: `create it first: journeyctl migrate --source pubsub --topic ${topic}` });
    throw error;
  }
}

function timestampMs(time: protos.google.protobuf.ITimestamp | null | undefined): number {
  if (!time) return 0;
  return Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
}
