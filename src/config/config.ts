import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { MAX_NESTING_DEPTH_LIMIT } from '../domain/json-depth.js';
import { parseEventTimestamp, isValidZone } from '../domain/time.js';
import type { FlagRegistry } from '../journeys/flags/kind.js';
import { parseJourneyConfig, type JourneyRules } from '../journeys/parse-journey-config.js';
import type { CheckDefinition, ChecksParser } from '../domain/check.js';
import { unknownKeyWarnings } from './config-keys.js';
import { type BigQueryAnalyticsConfig, type BigQueryOverrides, readBigQueryAnalytics } from './bigquery-config.js';
import { type PubSubConfig, type PubSubOverrides, readPubSub, STREAM_SOURCES, type StreamSource } from './pubsub-config.js';
import { SectionReader } from './section-reader.js';

/** yaml loads only when a config file is read: ~40 ms of the start-up of every command run without one. */
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

export type PropertyType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';
export const PROPERTY_TYPES: readonly PropertyType[] = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];

export interface PlannedEvent {
  /** Properties that must be present and non-null. */
  required: string[];
  /** Allowed types per property (a property may allow several). */
  properties: Record<string, PropertyType[]>;
}

export interface TrackingPlan {
  /** When false, an event name not in `events` is rejected as `unplanned_event`. */
  allowUnplanned: boolean;
  events: Record<string, PlannedEvent>;
}

export interface PipelineConfig {
  sessionInactivityMs: number;
  sessionMaxLengthMs: number;
  splitAtMidnight: boolean;
  /**
   * `gap` cuts sessions at the inactivity timeout; `client` groups events by the client's own
   * session id (first of clientSessionIdPaths present) and falls back to the gap without one.
   */
  sessionMode: SessionMode;
  /** Dotted paths into the raw event where a client session id may sit, first present wins. */
  clientSessionIdPaths: string[];
  /** client mode: a client session id seen again after this long starts a new session (`client_session_reused`). */
  clientSessionMaxGapMs: number;
  /** An anonymous id seen with more user ids than this is an identity conflict (flag `identity_conflict`). */
  maxUsersPerAnonymousId: number;
  /** Zone for midnight splits and day boundaries shown to people. Storage is always UTC. */
  timezone: string;
  /** An event is counted late when it reaches us this long after it happened. */
  lateAfterMs: number;
  /** Client times further ahead of the server than this are not believed. */
  futureToleranceMs: number;
  futureEvents: 'clamp' | 'reject';
  maxEventBytes: number;
  /**
   * Input is split into lines no longer than this: a longer line is not buffered, only its first
   * REJECTED_PREFIX_BYTES are kept in the rejected store (`line_too_long`). Default max_event_bytes + 4 MiB.
   */
  maxLineBytes: number;
  /** Objects and arrays nested deeper than this are rejected (`too_deeply_nested`) before anything parses them. */
  maxNestingDepth: number;
  /** The earliest event time (and receivedAt) accepted, epoch ms; the latest is arrival + futureToleranceMs. */
  minEventTimeMs: number;
  batchSize: number;
}

export const SESSION_MODES = ['gap', 'client'] as const;
export type SessionMode = (typeof SESSION_MODES)[number];

/** An engine known only by its registration (ADR 0005): check `registered` before reading a shipped engine's fields. */
export type RegisteredEngineConfig = { engine: string; registered: true };
export type RawStoreConfig = { engine: 'sqlite'; registered?: never } | { engine: 'mongodb'; url: string; database: string; registered?: never } | ClickHouseRawStoreConfig | RegisteredEngineConfig;
/** Raw events in a ClickHouse server; identity links, dirty ids, corrections, audit, leases and profiles in MongoDB. */
export type ClickHouseRawStoreConfig = { engine: 'clickhouse'; url: string; database: string; username: string; password: string; mongoUrl: string; mongoDatabase: string; registered?: never };
export type AnalyticsStoreConfig =
  | { engine: 'chdb'; registered?: never }
  | { engine: 'clickhouse'; url: string; database: string; username: string; password: string; registered?: never }
  | BigQueryAnalyticsConfig
  | RegisteredEngineConfig;

/** The engine names journeyctl ships; the caller passes the registries' names (config never imports stores). */
export const SHIPPED_ENGINE_NAMES: EngineNames = { raw: ['sqlite', 'mongodb', 'clickhouse'], analytics: ['chdb', 'clickhouse', 'bigquery'] };
export interface EngineNames {
  raw: readonly string[];
  analytics: readonly string[];
}

/** Where `run --source kafka` and `produce` meet Kafka; SASL and TLS are passed through to the client. */
export interface KafkaConfig {
  brokers: string[];
  topic: string | null;
  /** Consumer group of `run --source kafka`: processes in one group share the partitions. */
  group: string;
  clientId: string;
  /** Where a group without committed offsets starts: the topic's beginning (true) or its end. */
  fromBeginning: boolean;
  /** A member silent this long is dropped and its partitions reassigned (a killed consumer's are idle until then). */
  sessionTimeoutMs: number;
  /** TLS: true for the system CAs, or files (paths) for a private CA / client certificate. */
  ssl: boolean | { caFile?: string; certFile?: string; keyFile?: string; rejectUnauthorized: boolean };
  sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
}

export const DERIVATION_ENGINES = ['js', 'sql'] as const;
export type DerivationEngine = (typeof DERIVATION_ENGINES)[number];

export interface JourneyConfig {
  dataDir: string;
  pipeline: PipelineConfig;
  trackingPlan: TrackingPlan | null;
  /** Label rules, funnels and flag thresholds (shipped defaults plus the config file's). */
  journeys: JourneyRules;
  stores: { raw: RawStoreConfig; analytics: AnalyticsStoreConfig };
  kafka: KafkaConfig;
  /** The stream `run`, `produce`, doctor and migrate use: config key `source` (kafka | pubsub), env JOURNEY_SOURCE. */
  streamSource: StreamSource;
  pubsub: PubSubConfig;
  /**
   * Where derivation cuts sessions: js (the reference, default) or sql, in the ClickHouse analytics engine (ADR 0017);
   * rounds and reprocessed days of at least workerFromUsers users derive on a worker thread where they can (ADR 0025).
   */
  derivation: { engine: DerivationEngine; workerFromUsers: number };
  /** Property/context paths masked in human-facing output unless --no-redact. */
  redact: string[];
  /** Data-quality checks of the `checks` section (journeyctl check); paths resolved against the config file. */
  checks: CheckDefinition[];
  /** Where the config came from, for messages. */
  source: string;
}

/** Below 2,000 users, starting the derive worker and its connection costs more than the round takes (ADR 0025). */
export const DEFAULT_WORKER_FROM_USERS = 2_000;

export const DEFAULT_PIPELINE: PipelineConfig = {
  sessionInactivityMs: 30 * 60_000,
  sessionMaxLengthMs: 24 * 3_600_000,
  splitAtMidnight: false,
  sessionMode: 'gap',
  clientSessionIdPaths: ['context.sessionId', 'properties.session_id', 'integrations.Amplitude.session_id'],
  clientSessionMaxGapMs: 24 * 3_600_000,
  maxUsersPerAnonymousId: 3,
  timezone: 'UTC',
  lateAfterMs: 30 * 60_000,
  futureToleranceMs: 23 * 3_600_000,
  futureEvents: 'clamp',
  maxEventBytes: 32 * 1024,
  maxLineBytes: 32 * 1024 + (4 << 20),
  maxNestingDepth: 64,
  minEventTimeMs: Date.UTC(2000, 0, 1),
  batchSize: 5000,
};

/** What flags and environment can override; resolved once at the CLI edge. */
export interface ConfigOverrides {
  configPath?: string | undefined;
  dataDir?: string | undefined;
  mongoUrl?: string | undefined;
  clickhouseUrl?: string | undefined;
  /** stores.raw.engine, from JOURNEY_RAW_ENGINE (e.g. to run a test suite on another raw engine). */
  rawEngine?: string | undefined;
  /** --bigquery-dataset (selects engine bigquery), JOURNEY_BIGQUERY_*, BIGQUERY_EMULATOR_HOST. */
  bigquery?: BigQueryOverrides;
  /** Kafka flags of run/produce/doctor (--brokers a:9092,b:9092, --topic, --group) and JOURNEY_KAFKA_* variables. */
  kafka?: { brokers?: string | undefined; topic?: string | undefined; group?: string | undefined; saslUsername?: string | undefined; saslPassword?: string | undefined };
  /** `source:` (kafka | pubsub): JOURNEY_SOURCE. */
  streamSource?: string | undefined;
  /** Pub/Sub flags (--project, and --topic/--subscription of a Pub/Sub command) and JOURNEY_PUBSUB_*, PUBSUB_EMULATOR_HOST. */
  pubsub?: PubSubOverrides;
}

export type ConfigResult = { ok: true; config: JourneyConfig; warnings: string[] } | { ok: false; errors: string[] };

/**
 * Parsers of sections whose kinds live in higher layers (the check types measure against the
 * stores): the caller hands them in, so config never imports them. Without a checks parser the
 * `checks` section is not read (checks: []).
 */
export interface ConfigParsers {
  checks?: ChecksParser;
  /** The automatic flags (default: the shipped registry). */
  flags?: FlagRegistry;
  /** The registered store engines `stores.*.engine` may name (default: SHIPPED_ENGINE_NAMES). */
  engines?: EngineNames;
}

/** defaults → file → env → flags, validated in one pass. Never reads process.env itself: the caller passes it. */
export function resolveConfig(overrides: ConfigOverrides, env: Record<string, string | undefined>, parsers: ConfigParsers = {}): ConfigResult {
  const configPath = overrides.configPath ?? env.JOURNEY_CONFIG;
  let document: unknown = {};
  let source = 'defaults';
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (error) {
      return { ok: false, errors: [`cannot read config file ${configPath}: ${(error as NodeJS.ErrnoException).code ?? error}`] };
    }
    try {
      document = parseYaml(text) ?? {};
    } catch (error) {
      return { ok: false, errors: [`config file ${configPath} is not valid YAML/JSON: ${(error as Error).message.split('\n')[0]}`] };
    }
    source = configPath;
  }
  return validateConfigDocument(
    document,
    source,
    {
      ...overrides,
      dataDir: overrides.dataDir ?? env.JOURNEY_DATA_DIR,
      mongoUrl: overrides.mongoUrl ?? env.JOURNEY_MONGO_URL,
      clickhouseUrl: overrides.clickhouseUrl ?? env.JOURNEY_CLICKHOUSE_URL,
      rawEngine: overrides.rawEngine ?? env.JOURNEY_RAW_ENGINE,
      bigquery: {
        dataset: overrides.bigquery?.dataset ?? env.JOURNEY_BIGQUERY_DATASET,
        location: overrides.bigquery?.location ?? env.JOURNEY_BIGQUERY_LOCATION,
        maxBytesBilled: overrides.bigquery?.maxBytesBilled ?? env.JOURNEY_BIGQUERY_MAX_BYTES_BILLED,
        emulatorHost: overrides.bigquery?.emulatorHost ?? env.BIGQUERY_EMULATOR_HOST,
        ambientProject: env.GOOGLE_CLOUD_PROJECT,
      },
      kafka: {
        brokers: overrides.kafka?.brokers ?? env.JOURNEY_KAFKA_BROKERS,
        topic: overrides.kafka?.topic ?? env.JOURNEY_KAFKA_TOPIC,
        group: overrides.kafka?.group ?? env.JOURNEY_KAFKA_GROUP,
        saslUsername: env.JOURNEY_KAFKA_SASL_USERNAME,
        saslPassword: env.JOURNEY_KAFKA_SASL_PASSWORD,
      },
      streamSource: overrides.streamSource ?? env.JOURNEY_SOURCE,
      pubsub: {
        project: overrides.pubsub?.project ?? env.JOURNEY_PUBSUB_PROJECT,
        ambientProject: env.GOOGLE_CLOUD_PROJECT,
        topic: overrides.pubsub?.topic ?? env.JOURNEY_PUBSUB_TOPIC,
        subscription: overrides.pubsub?.subscription ?? env.JOURNEY_PUBSUB_SUBSCRIPTION,
        emulatorHost: overrides.pubsub?.emulatorHost ?? env.PUBSUB_EMULATOR_HOST,
      },
    },
    parsers,
  );
}

export function validateConfigDocument(document: unknown, source: string, overrides: ConfigOverrides = {}, parsers: ConfigParsers = {}): ConfigResult {
  const errors: string[] = [];
  const reader = new SectionReader(errors);
  const root = reader.object(document, '');
  const warnings = unknownKeyWarnings(root, source, parsers.flags);

  const pipelineDoc = reader.object(root.pipeline, 'pipeline');
  const pipeline: PipelineConfig = {
    sessionInactivityMs: reader.duration(pipelineDoc.session_inactivity, 'pipeline.session_inactivity', DEFAULT_PIPELINE.sessionInactivityMs),
    sessionMaxLengthMs: reader.duration(pipelineDoc.session_max_length, 'pipeline.session_max_length', DEFAULT_PIPELINE.sessionMaxLengthMs),
    splitAtMidnight: reader.boolean(pipelineDoc.split_at_midnight, 'pipeline.split_at_midnight', DEFAULT_PIPELINE.splitAtMidnight),
    sessionMode: reader.oneOf(pipelineDoc.session_mode, 'pipeline.session_mode', SESSION_MODES, DEFAULT_PIPELINE.sessionMode),
    clientSessionIdPaths:
      pipelineDoc.client_session_id_paths === undefined ? DEFAULT_PIPELINE.clientSessionIdPaths : reader.stringList(pipelineDoc.client_session_id_paths, 'pipeline.client_session_id_paths'),
    clientSessionMaxGapMs: reader.duration(pipelineDoc.client_session_max_gap, 'pipeline.client_session_max_gap', DEFAULT_PIPELINE.clientSessionMaxGapMs),
    maxUsersPerAnonymousId: reader.positiveInteger(pipelineDoc.max_users_per_anonymous_id, 'pipeline.max_users_per_anonymous_id', DEFAULT_PIPELINE.maxUsersPerAnonymousId),
    timezone: reader.string(pipelineDoc.timezone, 'pipeline.timezone', DEFAULT_PIPELINE.timezone),
    lateAfterMs: reader.duration(pipelineDoc.late_after, 'pipeline.late_after', DEFAULT_PIPELINE.lateAfterMs),
    futureToleranceMs: reader.duration(pipelineDoc.future_tolerance, 'pipeline.future_tolerance', DEFAULT_PIPELINE.futureToleranceMs),
    futureEvents: reader.oneOf(pipelineDoc.future_events, 'pipeline.future_events', ['clamp', 'reject'] as const, DEFAULT_PIPELINE.futureEvents),
    maxEventBytes: reader.positiveInteger(pipelineDoc.max_event_bytes, 'pipeline.max_event_bytes', DEFAULT_PIPELINE.maxEventBytes),
    maxLineBytes: 0,
    maxNestingDepth: reader.positiveInteger(pipelineDoc.max_nesting_depth, 'pipeline.max_nesting_depth', DEFAULT_PIPELINE.maxNestingDepth),
    minEventTimeMs: readMinEventTime(reader, pipelineDoc.min_event_time),
    batchSize: reader.positiveInteger(pipelineDoc.batch_size, 'pipeline.batch_size', DEFAULT_PIPELINE.batchSize),
  };
  pipeline.maxLineBytes = reader.positiveInteger(pipelineDoc.max_line_bytes, 'pipeline.max_line_bytes', pipeline.maxEventBytes + (4 << 20));
  if (pipeline.maxLineBytes < pipeline.maxEventBytes) errors.push('pipeline.max_line_bytes must be at least pipeline.max_event_bytes');
  if (pipeline.maxNestingDepth > MAX_NESTING_DEPTH_LIMIT) errors.push(`pipeline.max_nesting_depth must be at most ${MAX_NESTING_DEPTH_LIMIT}`);
  if (!isValidZone(pipeline.timezone)) errors.push(`pipeline.timezone: "${pipeline.timezone}" is not an IANA time zone (e.g. Europe/Berlin)`);
  if (pipeline.sessionInactivityMs <= 0) errors.push('pipeline.session_inactivity must be positive');
  if (pipeline.clientSessionMaxGapMs <= 0) errors.push('pipeline.client_session_max_gap must be positive');
  if (pipeline.sessionMode === 'client' && pipeline.clientSessionIdPaths.length === 0) errors.push('pipeline.client_session_id_paths must name at least one path in client mode');
  if (pipeline.sessionMaxLengthMs < pipeline.sessionInactivityMs) {
    errors.push('pipeline.session_max_length must be at least pipeline.session_inactivity');
  }

  const trackingPlan = root.tracking_plan === undefined ? null : readTrackingPlan(reader, root.tracking_plan);
  const journeys = parseJourneyConfig(root, parsers.flags);
  const checks = parsers.checks ? parsers.checks(root.checks, source === 'defaults' ? '.' : dirname(source)) : { checks: [], errors: [] };
  for (const error of checks.errors) reader.fail(error);
  for (const error of journeys.errors) reader.fail(error);

  const storesDoc = reader.object(root.stores, 'stores');
  const rawDoc = reader.object(storesDoc.raw, 'stores.raw');
  const analyticsDoc = reader.object(storesDoc.analytics, 'stores.analytics');
  const mongoUrl = overrides.mongoUrl ?? reader.optionalString(rawDoc.url, 'stores.raw.url');
  const clickhouseUrl = overrides.clickhouseUrl ?? reader.optionalString(analyticsDoc.url, 'stores.analytics.url');
  const engines = parsers.engines ?? SHIPPED_ENGINE_NAMES;
  // --mongo-url selects MongoDB, unless the file chose raw events in ClickHouse: then it is where the rest of the raw store goes.
  const rawEngineNamed = overrides.rawEngine ?? rawDoc.engine;
  const rawEngine = overrides.mongoUrl && rawEngineNamed !== 'clickhouse' ? 'mongodb' : reader.oneOf(rawEngineNamed, 'stores.raw.engine', engines.raw, mongoUrl ? 'mongodb' : 'sqlite');
  const analyticsEngine = overrides.clickhouseUrl
    ? 'clickhouse'
    : overrides.bigquery?.dataset
      ? 'bigquery'
      : reader.oneOf(analyticsDoc.engine, 'stores.analytics.engine', engines.analytics, clickhouseUrl ? 'clickhouse' : 'chdb');
  let raw: RawStoreConfig = { engine: 'sqlite' };
  if (!SHIPPED_ENGINE_NAMES.raw.includes(rawEngine)) raw = { engine: rawEngine, registered: true };
  if (rawEngine === 'mongodb') {
    if (!mongoUrl) errors.push('stores.raw.engine is mongodb but no URL is set (stores.raw.url, --mongo-url or JOURNEY_MONGO_URL)');
    raw = { engine: 'mongodb', url: mongoUrl ?? '', database: reader.string(rawDoc.database, 'stores.raw.database', 'journeyctl') };
  }
  if (rawEngine === 'clickhouse') {
    const url = reader.optionalString(rawDoc.url, 'stores.raw.url') ?? clickhouseUrl;
    const baseUrl = overrides.mongoUrl ?? reader.optionalString(rawDoc.mongo_url, 'stores.raw.mongo_url');
    if (!url) errors.push('stores.raw.engine is clickhouse but no ClickHouse URL is set (stores.raw.url, or stores.analytics.url, --clickhouse-url or JOURNEY_CLICKHOUSE_URL)');
    if (!baseUrl) errors.push('stores.raw.engine is clickhouse but no MongoDB URL is set for identity links, corrections and profiles (stores.raw.mongo_url, --mongo-url or JOURNEY_MONGO_URL)');
    const database = reader.string(rawDoc.database, 'stores.raw.database', 'journeyctl');
    raw = {
      engine: 'clickhouse',
      url: url ?? '',
      database,
      username: reader.string(rawDoc.username, 'stores.raw.username', 'default'),
      password: reader.string(rawDoc.password, 'stores.raw.password', ''),
      mongoUrl: baseUrl ?? '',
      mongoDatabase: reader.string(rawDoc.mongo_database, 'stores.raw.mongo_database', database),
    };
  }
  let analytics: AnalyticsStoreConfig = { engine: 'chdb' };
  if (!SHIPPED_ENGINE_NAMES.analytics.includes(analyticsEngine)) analytics = { engine: analyticsEngine, registered: true };
  if (analyticsEngine === 'bigquery') analytics = readBigQueryAnalytics(reader, analyticsDoc, overrides.bigquery ?? {});
  if (analyticsEngine === 'clickhouse') {
    if (!clickhouseUrl) errors.push('stores.analytics.engine is clickhouse but no URL is set (stores.analytics.url, --clickhouse-url or JOURNEY_CLICKHOUSE_URL)');
    analytics = {
      engine: 'clickhouse',
      url: clickhouseUrl ?? '',
      database: reader.string(analyticsDoc.database, 'stores.analytics.database', 'journeyctl'),
      username: reader.string(analyticsDoc.username, 'stores.analytics.username', 'default'),
      password: reader.string(analyticsDoc.password, 'stores.analytics.password', ''),
    };
  }

  const kafka = readKafka(reader, root.kafka, overrides.kafka ?? {});
  const streamSource = reader.oneOf(overrides.streamSource ?? root.source, 'source', STREAM_SOURCES, 'kafka');
  const pubsub = readPubSub(reader, root.pubsub, overrides.pubsub ?? {});
  const redact = root.redact === undefined ? [] : reader.stringList(root.redact, 'redact');
  const derivationDoc = reader.object(root.derivation, 'derivation');
  const derivation = {
    engine: reader.oneOf(derivationDoc.engine, 'derivation.engine', DERIVATION_ENGINES, 'js'),
    workerFromUsers: reader.positiveInteger(derivationDoc.worker_from_users, 'derivation.worker_from_users', DEFAULT_WORKER_FROM_USERS),
  };
  const dataDir = overrides.dataDir ?? reader.string(root.data_dir, 'data_dir', './.journeyctl');

  if (errors.length > 0) return { ok: false, errors: errors.map((error) => `${source}: ${error}`) };
  return {
    ok: true,
    config: { dataDir, pipeline, trackingPlan, journeys: journeys.config, checks: checks.checks, stores: { raw, analytics }, kafka, streamSource, pubsub, derivation, redact, source },
    warnings,
  };
}

function readKafka(reader: SectionReader, value: unknown, overrides: NonNullable<ConfigOverrides['kafka']>): KafkaConfig {
  const doc = reader.object(value, 'kafka');
  const list = (text: string) =>
    text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
  let brokers: string[] = [];
  if (overrides.brokers !== undefined) brokers = list(overrides.brokers);
  else if (typeof doc.brokers === 'string') brokers = list(doc.brokers);
  else if (doc.brokers !== undefined) brokers = reader.stringList(doc.brokers, 'kafka.brokers');
  for (const broker of brokers) if (!/^[^\s:]+:\d{1,5}$/.test(broker)) reader.fail(`kafka.brokers: "${broker}" is not host:port`);
  let ssl: KafkaConfig['ssl'] = false;
  if (typeof doc.ssl === 'boolean') ssl = doc.ssl;
  else if (doc.ssl !== undefined) {
    const sslDoc = reader.object(doc.ssl, 'kafka.ssl');
    ssl = {
      caFile: reader.optionalString(sslDoc.ca_file, 'kafka.ssl.ca_file'),
      certFile: reader.optionalString(sslDoc.cert_file, 'kafka.ssl.cert_file'),
      keyFile: reader.optionalString(sslDoc.key_file, 'kafka.ssl.key_file'),
      rejectUnauthorized: reader.boolean(sslDoc.reject_unauthorized, 'kafka.ssl.reject_unauthorized', true),
    };
  }
  let sasl: KafkaConfig['sasl'] = null;
  const saslDoc = reader.object(doc.sasl, 'kafka.sasl');
  const username = overrides.saslUsername ?? reader.optionalString(saslDoc.username, 'kafka.sasl.username');
  if (doc.sasl !== undefined || username !== undefined) {
    const password = overrides.saslPassword ?? reader.optionalString(saslDoc.password, 'kafka.sasl.password');
    if (username === undefined || password === undefined) reader.fail('kafka.sasl needs username and password (or JOURNEY_KAFKA_SASL_USERNAME / JOURNEY_KAFKA_SASL_PASSWORD)');
    sasl = { mechanism: reader.oneOf(saslDoc.mechanism, 'kafka.sasl.mechanism', ['plain', 'scram-sha-256', 'scram-sha-512'] as const, 'plain'), username: username ?? '', password: password ?? '' };
  }
  return {
    brokers,
    topic: overrides.topic ?? reader.optionalString(doc.topic, 'kafka.topic') ?? null,
    group: overrides.group ?? reader.string(doc.group, 'kafka.group', 'journeyctl'),
    clientId: reader.string(doc.client_id, 'kafka.client_id', 'journeyctl'),
    fromBeginning: reader.boolean(doc.from_beginning, 'kafka.from_beginning', true),
    sessionTimeoutMs: reader.duration(doc.session_timeout, 'kafka.session_timeout', 30_000),
    ssl,
    sasl,
  };
}

function readTrackingPlan(reader: SectionReader, value: unknown): TrackingPlan {
  const doc = reader.object(value, 'tracking_plan');
  const events: Record<string, PlannedEvent> = {};
  const eventsDoc = reader.object(doc.events, 'tracking_plan.events');
  for (const [name, spec] of Object.entries(eventsDoc)) {
    const path = `tracking_plan.events.${name}`;
    const specDoc = reader.object(spec ?? {}, path);
    const properties: Record<string, PropertyType[]> = {};
    for (const [property, type] of Object.entries(reader.object(specDoc.properties, `${path}.properties`))) {
      const types = Array.isArray(type) ? type : [type];
      const valid = types.filter((candidate): candidate is PropertyType => PROPERTY_TYPES.includes(candidate as PropertyType));
      if (valid.length !== types.length || valid.length === 0) {
        reader.fail(`${path}.properties.${property}: type must be one of ${PROPERTY_TYPES.join(', ')} (got ${JSON.stringify(type)})`);
      }
      properties[property] = valid;
    }
    events[name] = { required: specDoc.required === undefined ? [] : reader.stringList(specDoc.required, `${path}.required`), properties };
  }
  return { allowUnplanned: reader.boolean(doc.allow_unplanned, 'tracking_plan.allow_unplanned', true), events };
}

/** pipeline.min_event_time: an ISO-8601 date or time (UTC when it has no offset). */
function readMinEventTime(reader: SectionReader, value: unknown): number {
  if (value === undefined) return DEFAULT_PIPELINE.minEventTimeMs;
  const parsed = value instanceof Date ? value.getTime() : parseEventTimestamp(value);
  if (parsed === null || Number.isNaN(parsed) || typeof value === 'number') {
    reader.fail(`pipeline.min_event_time: ${JSON.stringify(value)} is not an ISO-8601 date (e.g. 2000-01-01)`);
    return DEFAULT_PIPELINE.minEventTimeMs;
  }
  return parsed;
}
