// The kafkajs client from the config, its log and its errors: what the source, produce, doctor and migrate share.
import { readFileSync } from 'node:fs';
import kafkajs, { type KafkaConfig as KafkaClientConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config/config.js';
import { InfrastructureError, UsageError } from '../errors.js';

export const { Kafka } = kafkajs;
const { logLevel } = kafkajs;

export function requireTopic(kafka: KafkaConfig): string {
  if (kafka.brokers.length === 0) throw new UsageError('no Kafka brokers given', { hint: 'pass --brokers host:9092 (or JOURNEY_KAFKA_BROKERS, or kafka.brokers in the config file)' });
  if (!kafka.topic) throw new UsageError('no Kafka topic given', { hint: 'pass --topic NAME (or JOURNEY_KAFKA_TOPIC, or kafka.topic in the config file)' });
  return kafka.topic;
}

export async function ensureTopic(client: InstanceType<typeof Kafka>, topic: string, partitions: number): Promise<boolean> {
  const admin = client.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) return false;
    return await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs options from the config: TLS files read here, SASL passed through, kafkajs' own log routed to ours. */
export function clientConfig(kafka: KafkaConfig, log: (message: string) => void): KafkaClientConfig {
  let ssl: KafkaClientConfig['ssl'] = kafka.ssl === true ? true : undefined;
  if (typeof kafka.ssl === 'object') {
    const read = (path: string | undefined, what: string) => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path, 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read the Kafka TLS ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`, { hint: 'fix kafka.ssl in the config file' });
      }
    };
    ssl = { rejectUnauthorized: kafka.ssl.rejectUnauthorized, ca: read(kafka.ssl.caFile, 'CA file'), cert: read(kafka.ssl.certFile, 'certificate'), key: read(kafka.ssl.keyFile, 'key') };
  }
  const sasl: SASLOptions | undefined = kafka.sasl ? ({ mechanism: kafka.sasl.mechanism, username: kafka.sasl.username, password: kafka.sasl.password } as SASLOptions) : undefined;
  return {
    clientId: kafka.clientId,
    brokers: kafka.brokers,
    ...(ssl !== undefined ? { ssl } : {}),
    ...(sasl !== undefined ? { sasl } : {}),
    logLevel: logLevel.ERROR,
    logCreator: () => quietLog(log),
  };
}

/** kafkajs errors, once per distinct message per 30 s (a broker that is down is reported on every retry). */
export function quietLog(log: (message: string) => void): (entry: LogEntry) => void {
  const lastSaid = new Map<string, number>();
  return ({ log: entry }) => {
    // Error responses kafkajs retries itself (coordinator not ready yet, leader moving) are not news.
    if (entry.message.startsWith('Response ')) return;
    const text = `kafka: ${entry.message}${entry.broker ? ` (broker ${entry.broker})` : ''}`;
    const now = Date.now();
    if (now - (lastSaid.get(text) ?? 0) < 30_000) return;
    lastSaid.set(text, now);
    log(text);
  };
}

export function kafkaFailure(what: string, error: unknown, kafka: KafkaConfig): InfrastructureError {
  if (error instanceof InfrastructureError) return error;
  const name = (error as Error)?.name ?? '';
  const auth = /SASL|Authentication/i.test(`${name} ${(error as Error)?.message}`);
  return new InfrastructureError(`cannot ${what} (brokers ${kafka.brokers.join(',')}): ${describe(error)}`, {
    hint: auth ? 'check the SASL mechanism, username and password (kafka.sasl)' : 'check that the brokers are reachable and the topic exists (journeyctl doctor)',
    cause: error,
    retriable: !auth && (error as { retriable?: unknown })?.retriable !== false,
  });
}

export function describe(error: unknown): string {
  const e = error as Error & { cause?: unknown };
  const cause = e?.cause instanceof Error && e.cause.message !== e.message ? ` (${e.cause.message})` : '';
  return `${e?.message ?? String(error)}${cause}`;
}
