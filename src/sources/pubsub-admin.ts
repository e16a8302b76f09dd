import type { PubSub } from '@google-cloud/pubsub';
import type { PubSubConfig } from '../config/pubsub-config.js';
import { ActionFailedError, UsageError } from '../errors.js';
import { createPubSubClient, grpcCode, pubsubFailure, requirePubSubTopic, requireSubscription } from './pubsub-client.js';
import { type ProduceResult, publishableLine } from './publish-line.js';

// `journeyctl produce --sink pubsub`, `migrate` (topic and the pipeline's subscription) and `doctor` (inspect): short-lived clients beside the source.

const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
/** Admin calls (doctor, migrate) answer quickly or fail: a probe must not hang on an unreachable endpoint. */
const ADMIN_CALL = { timeout: 10_000 } as const;

/**
 * How produce batches: one publish request per ordering key carries up to 1,000 messages (Pub/Sub's
 * limit per request) or 4 MiB (the limit is 10 MB), or what 50 ms gathered. Messages of one
 * ordering key go out in order, one request at a time; different keys in parallel.
 */
export const PUBLISH_BATCHING = { maxMessages: 1_000, maxBytes: 4 << 20, maxMilliseconds: 50 } as const;
/** Publisher flow control: at most this much unconfirmed at once, then produce waits (reading the input too). */
const PUBLISH_FLOW = { maxOutstandingMessages: 20_000, maxOutstandingBytes: 64 << 20 } as const;
/** Confirmed message ids are collected (and memory released) every this many messages. */
const CONFIRM_EVERY = 5_000;

/**
 * `journeyctl produce --sink pubsub`: NDJSON lines to a topic, one message per line, with the
 * line's anonymousId (or userId) as ordering key, so one visitor's events arrive in order on a
 * subscription with message ordering (migrate creates the pipeline's so). The topic must exist:
 * Pub/Sub keeps a message only for the subscriptions that exist when it is published.
 */
export async function publishLines(config: PubSubConfig, lines: AsyncIterable<string>, options: { log: (message: string) => void; onProgress?: (sent: number) => void }): Promise<ProduceResult> {
  const name = requirePubSubTopic(config);
  const client = createPubSubClient(config, name);
  const result: ProduceResult = { messages: 0, unkeyed: 0 };
  try {
    const [exists] = await client.topic(name).exists();
    if (!exists) throw new UsageError(`no Pub/Sub topic ${name}`, { hint: `create it and the pipeline subscription first: journeyctl migrate --source pubsub --topic ${name}` });
    const [subscriptions] = await client.topic(name).getSubscriptions();
    if (subscriptions.length === 0)
      options.log(`produce: ${name} has no subscription: Pub/Sub keeps no message for a subscription created later (journeyctl migrate --source pubsub creates the pipeline's)`);
    const topic = client.topic(name, { messageOrdering: true, batching: PUBLISH_BATCHING, flowControlOptions: PUBLISH_FLOW });
    const publisher = topic.flowControlled();
    let unconfirmed = 0;
    const confirm = async () => {
      result.messages += (await publisher.all()).length;
      unconfirmed = 0;
      options.onProgress?.(result.messages);
    };
    for await (const line of lines) {
      const message = publishableLine(line, options.log);
      if (message === null) continue;
      if (message.key === null) result.unkeyed += 1;
      const data = typeof message.value === 'string' ? Buffer.from(message.value, 'utf8') : message.value;
      await publisher.publish(message.key === null ? { data } : { data, orderingKey: message.key });
      unconfirmed += 1;
      if (unconfirmed >= CONFIRM_EVERY) await confirm();
    }
    await confirm();
    return result;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw pubsubFailure(`publish to ${name} (${result.messages} messages confirmed)`, error, config);
  } finally {
    await client.close().catch(() => {});
  }
}

/** What migrate did for Pub/Sub: one line each for the topic and the pipeline's subscription. */
export interface PubSubMigration {
  topic: string;
  subscription: string;
}

/**
 * `journeyctl migrate`: the topic and the pipeline's subscription with the configured ack deadline
 * and message ordering (ADR 0015). Idempotent: what exists is left as it is, except an ack deadline
 * that differs from the config's, which is updated; a subscription on another topic is an error.
 */
export async function ensurePubSub(config: PubSubConfig): Promise<PubSubMigration> {
  const topicName = requirePubSubTopic(config);
  const subscriptionName = requireSubscription(config);
  const client = createPubSubClient(config, topicName);
  try {
    const topic = client.topic(topicName);
    let topicDone = `${topicName} exists: ready`;
    try {
      await topic.create(ADMIN_CALL);
      topicDone = `created ${topicName}`;
    } catch (error) {
      if (grpcCode(error) !== ALREADY_EXISTS) throw error;
    }
    const wanted = `ack deadline ${config.ackDeadlineSeconds} s, message ordering`;
    const subscription = client.subscription(subscriptionName);
    const existing = await subscriptionMetadata(client, subscriptionName);
    if (existing === null) {
      await topic.createSubscription(subscriptionName, { ackDeadlineSeconds: config.ackDeadlineSeconds, enableMessageOrdering: true, gaxOpts: ADMIN_CALL });
      return { topic: topicDone, subscription: `created ${subscriptionName} on ${topicName} (${wanted})` };
    }
    if (existing.topic !== topicName) {
      throw new ActionFailedError(`subscription ${subscriptionName} is on topic ${existing.topic}, not ${topicName}`, {
        hint: 'name another subscription (--subscription, pubsub.subscription), or the topic it is on (--topic)',
      });
    }
    const notes: string[] = [];
    if (existing.ackDeadlineSeconds !== config.ackDeadlineSeconds) {
      await subscription.setMetadata({ ackDeadlineSeconds: config.ackDeadlineSeconds }, ADMIN_CALL);
      notes.push(`ack deadline ${existing.ackDeadlineSeconds} s -> ${config.ackDeadlineSeconds} s`);
    }
    if (!existing.ordering) notes.push('without message ordering (Pub/Sub cannot turn it on later: see journeyctl doctor)');
    return { topic: topicDone, subscription: notes.length === 0 ? `${subscriptionName} exists (${wanted}): ready` : `${subscriptionName} exists: ${notes.join('; ')}` };
  } catch (error) {
    if (error instanceof UsageError || error instanceof ActionFailedError) throw error;
    throw pubsubFailure(`create the Pub/Sub topic and subscription`, error, config);
  } finally {
    await client.close().catch(() => {});
  }
}

export interface SubscriptionFacts {
  topic: string;
  ackDeadlineSeconds: number;
  ordering: boolean;
  deadLetter: { topic: string; maxDeliveryAttempts: number } | null;
}

export interface PubSubInspection {
  endpoint: string;
  topic: { name: string; exists: boolean } | null;
  subscription: ({ name: string } & ({ exists: false } | ({ exists: true } & SubscriptionFacts))) | null;
}

/** For doctor: the topic and the pipeline's subscription as Pub/Sub has them. Throws an InfrastructureError when unreachable. */
export async function inspectPubSub(config: PubSubConfig): Promise<PubSubInspection> {
  const client = createPubSubClient(config, config.topic ?? config.subscription);
  const endpoint = config.emulatorHost ? `emulator ${config.emulatorHost}` : `pubsub.googleapis.com${config.project ? ` (project ${config.project})` : ''}`;
  try {
    let topic: PubSubInspection['topic'] = null;
    if (config.topic) {
      const exists = await client
        .topic(config.topic)
        .getMetadata(ADMIN_CALL)
        .then(
          () => true,
          (error: unknown) => {
            if (grpcCode(error) === NOT_FOUND) return false;
            throw error;
          },
        );
      topic = { name: config.topic, exists };
    }
    let subscription: PubSubInspection['subscription'] = null;
    if (config.subscription) {
      const facts = await subscriptionMetadata(client, config.subscription);
      subscription = facts === null ? { name: config.subscription, exists: false } : { name: config.subscription, exists: true, ...facts };
    }
    return { endpoint, topic, subscription };
  } catch (error) {
    throw pubsubFailure('reach Pub/Sub', error, config);
  } finally {
    await client.close().catch(() => {});
  }
}

/** A subscription's settings, or null when it does not exist. */
export async function subscriptionMetadata(client: PubSub, name: string): Promise<SubscriptionFacts | null> {
  try {
    const [metadata] = await client.subscription(name).getMetadata(ADMIN_CALL);
    const deadLetter = metadata.deadLetterPolicy?.deadLetterTopic
      ? { topic: metadata.deadLetterPolicy.deadLetterTopic, maxDeliveryAttempts: metadata.deadLetterPolicy.maxDeliveryAttempts ?? 5 }
      : null;
    return { topic: metadata.topic ?? '', ackDeadlineSeconds: metadata.ackDeadlineSeconds ?? 10, ordering: Boolean(metadata.enableMessageOrdering), deadLetter };
  } catch (error) {
    if (grpcCode(error) === NOT_FOUND) return null;
    throw error;
  }
}
