import kafkajs from 'kafkajs';
import type { KafkaConfig } from '../config/config.js';
import { InfrastructureError, UsageError } from '../errors.js';
import { createKafkaClient, ensureTopic, kafkaFailure, requireTopic } from './kafka-client.js';
import { type ProduceResult, publishableLine } from './publish-line.js';

export { keyOf, type ProduceResult } from './publish-line.js';

const { Partitioners } = kafkajs;

// `journeyctl produce`, `migrate` (topic), `doctor` (inspect) and the Kafka benchmark: short-lived clients beside the source.

/**
 * `journeyctl produce`: NDJSON lines to a topic, one message per line, keyed by anonymousId (or
 * userId) so one visitor's events keep their order in one partition. `partitions` creates the
 * topic with that many partitions when it does not exist.
 */
export async function produceLines(
  kafka: KafkaConfig,
  lines: AsyncIterable<string>,
  options: { log: (message: string) => void; partitions?: number; sendBatch?: number; onProgress?: (sent: number) => void },
): Promise<ProduceResult> {
  const topic = requireTopic(kafka);
  const client = createKafkaClient(kafka, options.log, 'produce');
  const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
  const result: ProduceResult = { messages: 0, unkeyed: 0 };
  try {
    if (options.partitions !== undefined) await ensureTopic(client, topic, options.partitions);
    await producer.connect();
    const sendBatch = options.sendBatch ?? 2_000;
    let pending: Array<{ key: string | null; value: string | Buffer }> = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      await producer.send({ topic, messages: pending, acks: -1 });
      result.messages += pending.length;
      options.onProgress?.(result.messages);
      pending = [];
      pendingBytes = 0;
    };
    for await (const line of lines) {
      const message = publishableLine(line, options.log);
      if (message === null) continue;
      const { key, value } = message;
      if (key === null) result.unkeyed += 1;
      pending.push(message);
      pendingBytes += Buffer.byteLength(value);
      // One send puts a partition's messages in one record batch: stay well under the broker's 1 MB message.max.bytes.
      if (pending.length >= sendBatch || pendingBytes >= 512 * 1024) await flush();
    }
    await flush();
    return result;
  } catch (error) {
    if (error instanceof UsageError || error instanceof InfrastructureError) throw error;
    throw kafkaFailure(`publish to ${topic}`, error, kafka);
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

/** Creates the topic if it does not exist (idempotent); returns whether it was created. */
export async function ensureKafkaTopic(kafka: KafkaConfig, partitions: number, log: (message: string) => void): Promise<boolean> {
  const topic = requireTopic(kafka);
  try {
    return await ensureTopic(createKafkaClient(kafka, log, 'migrate'), topic, partitions);
  } catch (error) {
    throw kafkaFailure(`create topic ${topic}`, error, kafka);
  }
}

export interface KafkaInspection {
  brokers: Array<{ nodeId: number; address: string }>;
  /** The broker's software version when it reports one (Kafka ≥ 3.x via its configs), else null. */
  version: string | null;
  topic: { name: string; exists: boolean; partitions: number } | null;
  /** Committed offsets of the group summed over partitions, and the topic's end: the lag. */
  group: { id: string; committed: number; end: number } | null;
}

/** For doctor: reachable brokers, version, topic and group lag. Throws an InfrastructureError when unreachable. */
export async function inspectKafka(kafka: KafkaConfig, log: (message: string) => void): Promise<KafkaInspection> {
  const client = createKafkaClient(kafka, log, 'doctor');
  const admin = client.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const brokers = cluster.brokers.map((broker) => ({ nodeId: broker.nodeId, address: `${broker.host}:${broker.port}` }));
    let version: string | null = null;
    try {
      const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 4 /* BROKER */, name: String(cluster.controller ?? brokers[0]?.nodeId ?? 1) }] });
      const entries = configs.resources[0]?.configEntries ?? [];
      const pick = (name: string) => entries.find((entry) => entry.configName === name)?.configValue;
      version = pick('inter.broker.protocol.version') ?? null;
    } catch {
      // not allowed to read broker configs: the version stays unknown
    }
    let topic: KafkaInspection['topic'] = null;
    let group: KafkaInspection['group'] = null;
    if (kafka.topic) {
      const topics = await admin.listTopics();
      const exists = topics.includes(kafka.topic);
      const partitions = exists ? ((await admin.fetchTopicMetadata({ topics: [kafka.topic] })).topics[0]?.partitions.length ?? 0) : 0;
      topic = { name: kafka.topic, exists, partitions };
      if (exists) {
        const ends = await admin.fetchTopicOffsets(kafka.topic);
        const committed = await admin.fetchOffsets({ groupId: kafka.group, topics: [kafka.topic] });
        const end = ends.reduce((sum, partition) => sum + Number(partition.high), 0);
        const done = (committed[0]?.partitions ?? []).reduce((sum, partition) => sum + Math.max(0, Number(partition.offset)), 0);
        group = { id: kafka.group, committed: done, end };
      }
    }
    return { brokers, version, topic, group };
  } catch (error) {
    throw kafkaFailure('reach Kafka', error, kafka);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * The broker-side limit for the benchmark: a consumer (its own group) that only reads `count`
 * messages of the topic and does nothing with them. Returns the elapsed milliseconds.
 */
export async function readTopicOnly(kafka: KafkaConfig, count: number, log: (message: string) => void): Promise<number> {
  const topic = requireTopic(kafka);
  const client = createKafkaClient(kafka, log, 'bench');
  const consumer = client.consumer({ groupId: `${kafka.group}-read-only-${process.pid}-${Date.now()}`, maxBytesPerPartition: 16 << 20, maxBytes: 64 << 20, maxWaitTimeInMs: 500 });
  const started = Date.now();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) if (message.value) seen += 1;
            if (seen >= count) resolve();
          },
        })
        .catch(reject);
    });
    return Date.now() - started;
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}
