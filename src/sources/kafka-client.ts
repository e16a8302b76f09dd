// The one kafkajs client factory (createKafkaClient), its log and its errors: the source, tail, produce, doctor and migrate share them.
import { readFileSync } from 'node:fs';
import kafkajs, { type KafkaConfig as KafkaClientConfig, type LogEntry, type RetryOptions, type SASLOptions } from 'kafkajs';
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

/** What a user of the client may tune; brokers, TLS and SASL always come from the config. */
export interface KafkaClientTuning {
  clientId?: string;
  connectionTimeout?: number;
  retry?: RetryOptions;
  /** kafkajs logs nothing (tail: a failure that outlasts the retries is one error line of ours). */
  silent?: boolean;
}

/** Every user of a Kafka client, with what it tunes; none can tune brokers, TLS or SASL away. */
export const KAFKA_CLIENT_USES = {
  /** `run --source kafka`: the pipeline's consumer group. */
  source: {},
  /** `produce`. */
  produce: {},
  /** The Kafka benchmark's read-only consumer. */
  bench: {},
  /** `migrate`: creates the topic. */
  migrate: {},
  /** `doctor`: a probe answers quickly. */
  doctor: { retry: { retries: 1, initialRetryTime: 200 }, connectionTimeout: 3_000 },
  /** `tail --source kafka`: its own client id; kafkajs' retry chatter stays quiet unless asked for. */
  tail: { clientId: 'journeyctl-tail', connectionTimeout: 5_000, retry: { retries: 3, initialRetryTime: 200 } },
} as const satisfies Record<string, KafkaClientTuning>;
export type KafkaClientUse = keyof typeof KAFKA_CLIENT_USES;

/** The kafkajs client every Kafka user gets (see KAFKA_CLIENT_USES), so none can forget the configured TLS or SASL. */
export function createKafkaClient(kafka: KafkaConfig, log: (message: string) => void, use: KafkaClientUse, extra: Pick<KafkaClientTuning, 'silent'> = {}): InstanceType<typeof Kafka> {
  return new Kafka(clientConfig(kafka, log, { ...KAFKA_CLIENT_USES[use], ...extra }));
}

/** kafkajs options from the config: TLS files read here, SASL passed through, kafkajs' own log routed to ours. */
export function clientConfig(kafka: KafkaConfig, log: (message: string) => void, tuning: KafkaClientTuning = {}): KafkaClientConfig {
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
    clientId: tuning.clientId ?? kafka.clientId,
    brokers: kafka.brokers,
    ...(ssl !== undefined ? { ssl } : {}),
    ...(sasl !== undefined ? { sasl } : {}),
    ...(tuning.connectionTimeout !== undefined ? { connectionTimeout: tuning.connectionTimeout } : {}),
    ...(tuning.retry !== undefined ? { retry: tuning.retry } : {}),
    logLevel: tuning.silent ? logLevel.NOTHING : logLevel.ERROR,
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
