// The `pubsub:` section and the top-level `source:` (kafka | pubsub): what run, produce, tail, doctor and migrate use for Pub/Sub.
import type { SectionReader } from './section-reader.js';

export const STREAM_SOURCES = ['kafka', 'pubsub'] as const;
export type StreamSource = (typeof STREAM_SOURCES)[number];

/** Where `run --source pubsub`, `produce --sink pubsub`, `tail --source pubsub`, doctor and migrate meet Pub/Sub. */
export interface PubSubConfig {
  /** The GCP project of short topic and subscription names; taken from a full topic name when not given. */
  project: string | null;
  /** Full name projects/P/topics/T, or null when none is configured. */
  topic: string | null;
  /** The pipeline's subscription, full name projects/P/subscriptions/S (default `journeyctl` in the project). */
  subscription: string | null;
  /**
   * The ack deadline migrate gives the pipeline's subscription (10–600 s). The client extends the
   * lease of a message it holds; this is how long a message of a killed run stays leased before
   * Pub/Sub delivers it again (docs/decisions/0015-pubsub-subscriptions.md).
   */
  ackDeadlineSeconds: number;
  /** Streaming-pull flow control: at most this many messages and bytes leased and not yet acked. */
  flowControl: { maxMessages: number; maxBytes: number };
  /** host:port of an emulator (PUBSUB_EMULATOR_HOST), or null for Google's service. */
  emulatorHost: string | null;
}

/** Flags and environment of the Pub/Sub commands (--topic/--subscription/--project, JOURNEY_PUBSUB_*, PUBSUB_EMULATOR_HOST). */
export interface PubSubOverrides {
  project?: string | undefined;
  topic?: string | undefined;
  subscription?: string | undefined;
  emulatorHost?: string | undefined;
  /** GOOGLE_CLOUD_PROJECT: the project when neither the flags, JOURNEY_PUBSUB_PROJECT, the file nor a full topic name give one. */
  ambientProject?: string | undefined;
}

export const DEFAULT_PUBSUB_SUBSCRIPTION = 'journeyctl';
/** 60 s: see docs/decisions/0015-pubsub-subscriptions.md (batch flush interval + a durable write, well under a 5-minute micro-batch). */
export const DEFAULT_ACK_DEADLINE_SECONDS = 60;
/** Two pipeline batches (5,000 lines each by default) leased at once: one being stored, the next filling. */
export const DEFAULT_FLOW_CONTROL = { maxMessages: 10_000, maxBytes: 100 << 20 } as const;

/** Pub/Sub topic and subscription ids: 3–255 characters, a letter first (Google's resource-name rules). */
const RESOURCE_ID = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9\-.:]*$/;

/** Reads `pubsub:` with its flag/env overrides; names come out full (projects/P/…). */
export function readPubSub(reader: SectionReader, value: unknown, overrides: PubSubOverrides): PubSubConfig {
  const doc = reader.object(value, 'pubsub');
  const flowDoc = reader.object(doc.flow_control, 'pubsub.flow_control');
  const topicText = overrides.topic ?? reader.optionalString(doc.topic, 'pubsub.topic');
  const subscriptionText = overrides.subscription ?? reader.optionalString(doc.subscription, 'pubsub.subscription');
  let project = overrides.project ?? reader.optionalString(doc.project, 'pubsub.project') ?? projectOf(topicText, 'topics') ?? (overrides.ambientProject || undefined) ?? null;
  if (project !== null && !PROJECT_ID.test(project)) {
    reader.fail(`pubsub.project: "${project}" is not a project id`);
    project = null;
  }
  const topic = fullName(reader, 'pubsub.topic', topicText, 'topics', project);
  const subscription = fullName(reader, 'pubsub.subscription', subscriptionText ?? (project !== null ? DEFAULT_PUBSUB_SUBSCRIPTION : undefined), 'subscriptions', project);
  const ackDeadlineMs = reader.duration(doc.ack_deadline, 'pubsub.ack_deadline', DEFAULT_ACK_DEADLINE_SECONDS * 1000);
  if (ackDeadlineMs < 10_000 || ackDeadlineMs > 600_000) reader.fail('pubsub.ack_deadline must be between 10s and 600s (the limits of Pub/Sub)');
  const emulatorHost = overrides.emulatorHost?.trim() || null;
  return {
    project,
    topic,
    subscription,
    ackDeadlineSeconds: Math.round(ackDeadlineMs / 1000),
    flowControl: {
      maxMessages: reader.positiveInteger(flowDoc.max_messages, 'pubsub.flow_control.max_messages', DEFAULT_FLOW_CONTROL.maxMessages),
      maxBytes: reader.positiveInteger(flowDoc.max_bytes, 'pubsub.flow_control.max_bytes', DEFAULT_FLOW_CONTROL.maxBytes),
    },
    emulatorHost,
  };
}

/** The project of a full name (projects/P/topics/T), else undefined. */
function projectOf(name: string | undefined, kind: 'topics' | 'subscriptions'): string | undefined {
  return name === undefined ? undefined : new RegExp(`^projects/([^/]+)/${kind}/[^/]+$`).exec(name)?.[1];
}

/** A short id becomes projects/<project>/<kind>/<id>; a full name is checked as it is. */
function fullName(reader: SectionReader, path: string, text: string | undefined, kind: 'topics' | 'subscriptions', project: string | null): string | null {
  if (text === undefined) return null;
  const full = new RegExp(`^projects/([^/]+)/${kind}/([^/]+)$`).exec(text);
  const id = full ? full[2]! : text;
  if (!RESOURCE_ID.test(id) || id.toLowerCase().startsWith('goog')) {
    reader.fail(
      `${path}: "${text}" is not a Pub/Sub ${kind === 'topics' ? 'topic' : 'subscription'} (projects/P/${kind}/NAME, or NAME: 3-255 letters, digits, - _ . ~ + %, a letter first, not goog…)`,
    );
    return null;
  }
  if (full) return text;
  if (project === null) {
    reader.fail(`${path}: "${text}" is a short name and no project is set (pubsub.project, --project, JOURNEY_PUBSUB_PROJECT or GOOGLE_CLOUD_PROJECT), or give projects/P/${kind}/${text}`);
    return null;
  }
  return `projects/${project}/${kind}/${text}`;
}

/** The short id of a full resource name (projects/P/topics/T → T). */
export function resourceId(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}
