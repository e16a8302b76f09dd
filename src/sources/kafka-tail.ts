import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KafkaConfig } from '../config/config.js';
import { InfrastructureError, UsageError } from '../errors.js';
import { createKafkaClient } from './kafka-client.js';
import { parseMessageObject } from './message-json.js';
import { createTailBuffer, type TailReader } from './tail-buffer.js';

/**
 * A read-only look at a Kafka topic for `journeyctl tail --source kafka`.
 *
 * It never touches the pipeline's consumer group: kafkajs 2.2.4 has no manual partition
 * assignment (tulios/kafkajs#373 is still open), so it joins a throwaway group of its own
 * (`journeyctl-tail-<host>-<pid>-<random>`, one member, so it gets every partition), seeks each
 * partition to an offset it computed itself, and runs with autoCommit off and never calls
 * commitOffsets — with autoCommit off kafkajs' seek only moves the fetch position and commits
 * nothing either — so no offset is ever stored, for its group or any other.
 *
 * It can never slow the pipeline: it is a separate reader of the log, and it does not let its
 * own output hold its fetching back either — messages go into a bounded buffer and, when whoever
 * reads it (the terminal, a pipe) falls behind, new messages are dropped and counted rather than
 * waited for (after one short grace per stall, so a burst a keeping-up reader can take is kept).
 */
export interface KafkaTailOptions {
  /** Brokers, TLS and SASL as configured (the client comes from the shared factory). */
  kafka: KafkaConfig;
  topic: string;
  /**
   * Where to start in every partition: its first message, the next one to arrive, an offset, or
   * the first message at or after a time (ms). Offsets are clamped to what the partition holds.
   */
  start: 'beginning' | 'end' | { offset: bigint } | { time: number };
  /** Keep reading new messages; otherwise stop at the ends the partitions had at start. */
  follow: boolean;
  /** At most this many kept messages wait to be taken; past it, messages are dropped. */
  bufferSize: number;
  /** Decides in the fetch loop whether a message is kept (filters, sampling); cheap and synchronous. */
  keep(message: KafkaTailMessage): boolean;
  /** Problems kafkajs reports while it retries (none are reported without it). */
  log?: (message: string) => void;
}

export interface KafkaTailMessage {
  topic: string;
  partition: number;
  offset: string;
  /** The message's Kafka timestamp, epoch ms. */
  timestamp: number;
  key: string | null;
  /** The value as UTF-8 text. */
  text: string;
  /** The value parsed, when it is a JSON object. */
  json: Record<string, unknown> | null;
}

/** finished(): not following, every partition reached the end it had at start, and the buffer is empty. */
export interface KafkaTailReader extends TailReader<KafkaTailMessage> {
  /** The throwaway consumer group this reader uses (no offsets are ever committed for it). */
  readonly groupId: string;
}

export async function openKafkaTail(options: KafkaTailOptions): Promise<KafkaTailReader> {
  if (options.kafka.brokers.length === 0) throw new UsageError('no Kafka brokers given', { hint: 'pass --brokers host:port[,host:port] or set JOURNEY_KAFKA_BROKERS' });
  const kafka = createKafkaClient(options.kafka, options.log ?? (() => {}), 'tail', { silent: !options.log });
  const admin = kafka.admin();
  const starts = new Map<number, bigint>();
  const ends = new Map<number, bigint>();
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    if (!topics.includes(options.topic)) {
      throw new UsageError(`no topic "${options.topic}" on ${options.kafka.brokers.join(',')}`, {
        hint: `topics there: ${
          topics
            .filter((t) => !t.startsWith('__'))
            .sort()
            .join(', ') || 'none'
        }`,
      });
    }
    const offsets = await admin.fetchTopicOffsets(options.topic);
    const { start: at } = options;
    const byTime = typeof at === 'object' && 'time' in at ? await admin.fetchTopicOffsetsByTimestamp(options.topic, at.time) : [];
    for (const { partition, low, high } of offsets) {
      const lowOffset = BigInt(low);
      const highOffset = BigInt(high);
      const timed = byTime.find((entry) => entry.partition === partition);
      const start = at === 'beginning' ? lowOffset : at === 'end' ? highOffset : 'offset' in at ? at.offset : timed ? BigInt(timed.offset) : highOffset;
      starts.set(partition, start < lowOffset ? lowOffset : start > highOffset ? highOffset : start);
      ends.set(partition, highOffset);
    }
  } catch (error) {
    await admin.disconnect().catch(() => {});
    if (error instanceof UsageError) throw error;
    throw brokerError(options, error);
  }
  await admin.disconnect().catch(() => {});

  const groupId = `journeyctl-tail-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  // A fetch hands over a whole batch at once: when the buffer is full the reader gets a moment to
  // take it before messages are dropped (tail-buffer.ts), and nothing waits on the reader.
  const buffer = createTailBuffer<KafkaTailMessage>(options.bufferSize);
  const notify = () => buffer.notify();
  let read = 0;
  let failure: unknown = null;
  /** Next offset to read per partition; a partition is caught up once it reaches its end. */
  const positions = new Map(starts);
  const caughtUp = () => [...ends].every(([partition, end]) => (positions.get(partition) ?? end) >= end);

  // Nothing to read and not following: no consumer group at all.
  if (!options.follow && caughtUp()) {
    return { groupId, dropped: 0, read: 0, take: async () => [], finished: () => true, close: async () => {} };
  }

  let closed = false;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, retry: { retries: 5 } });
  consumer.on(consumer.events.CRASH, (event) => {
    failure = event.payload.error;
    notify();
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const partition = batch.partition;
        const start = starts.get(partition) ?? 0n;
        const end = ends.get(partition) ?? 0n;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < start) continue; // only ever from before our seek took effect
          if (!options.follow && offset >= end) break; // like kcat -e: what the partition held at start
          positions.set(partition, offset + 1n);
          read += 1;
          const text = message.value?.toString('utf8') ?? '';
          const tailed: KafkaTailMessage = {
            topic: batch.topic,
            partition,
            offset: message.offset,
            timestamp: Number(message.timestamp),
            key: message.key?.toString('utf8') ?? null,
            text,
            json: parseMessageObject(text),
          };
          if (!options.keep(tailed)) continue;
          await buffer.offer(tailed, closed);
        }
        // Transaction markers take offsets no message has: the batch's last offset still moves us on.
        if (!batch.isEmpty()) {
          const next = BigInt(batch.lastOffset()) + 1n;
          if (next > (positions.get(partition) ?? 0n)) positions.set(partition, options.follow || next < end ? next : end);
        }
        notify();
      },
    });
    for (const [partition, offset] of starts) consumer.seek({ topic: options.topic, partition, offset: offset.toString() });
  } catch (error) {
    await consumer.disconnect().catch(() => {});
    throw brokerError(options, error);
  }

  return {
    groupId,
    get dropped() {
      return buffer.dropped;
    },
    get read() {
      return read;
    },
    async take(waitMs) {
      if (failure !== null) throw brokerError(options, failure);
      const taken = await buffer.take(waitMs, !options.follow && caughtUp());
      if (failure !== null) throw brokerError(options, failure);
      return taken;
    },
    finished: () => !options.follow && caughtUp() && buffer.size === 0,
    async close() {
      if (closed) return;
      closed = true;
      buffer.release();
      await consumer.disconnect().catch(() => {});
      // The throwaway group holds no offsets; removing it keeps the broker's group list clean.
      const cleanup = kafka.admin();
      await cleanup
        .connect()
        .then(() => cleanup.deleteGroups([groupId]))
        .catch(() => {})
        .finally(() => cleanup.disconnect().catch(() => {}));
    },
  };
}

function brokerError(options: KafkaTailOptions, error: unknown): InfrastructureError {
  return new InfrastructureError(`cannot read topic "${options.topic}" from ${options.kafka.brokers.join(',')}: ${(error as Error)?.message ?? String(error)}`, {
    hint: 'check that the brokers are reachable (--brokers / JOURNEY_KAFKA_BROKERS)',
    cause: error,
  });
}
