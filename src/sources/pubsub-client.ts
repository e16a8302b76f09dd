// The one @google-cloud/pubsub client factory (createPubSubClient) and its errors: the source, tail, produce, doctor and migrate share them.
import { PubSub, type ClientConfig } from '@google-cloud/pubsub';
import { InfrastructureError, UsageError } from '../errors.js';

/** What a client needs of the config's `pubsub:` section (PubSubConfig has these). */
export interface PubSubConnection {
  /** The GCP project; taken from the topic or subscription name when null. */
  project: string | null;
  /** host:port of an emulator (PUBSUB_EMULATOR_HOST), or null for Google's service. */
  emulatorHost: string | null;
}

/**
 * The client every Pub/Sub user gets. Against an emulator: plain-text gRPC to its host:port and
 * no credentials. Against Google: Application Default Credentials (Workload Identity on GKE,
 * GOOGLE_APPLICATION_CREDENTIALS elsewhere), never a key in journeyctl's config.
 */
export function createPubSubClient(connection: PubSubConnection, fallbackName?: string | null): PubSub {
  const projectId = connection.project ?? projectOfName(fallbackName) ?? undefined;
  const options: ClientConfig = { ...(projectId !== undefined ? { projectId } : {}) };
  // The client would also read PUBSUB_EMULATOR_HOST itself; the config resolved it once (flags, env, file), so say it here.
  // The universe domain said, so the client does not look for credentials it never uses on an emulator (a MetadataLookupWarning on stderr).
  if (connection.emulatorHost) Object.assign(options, { apiEndpoint: connection.emulatorHost, emulatorMode: true, universeDomain: 'googleapis.com' });
  else Object.assign(options, { emulatorMode: false });
  return new PubSub(options);
}

/** The project of a full resource name (projects/P/topics/T or projects/P/subscriptions/S). */
export function projectOfName(name: string | null | undefined): string | null {
  return name ? (/^projects\/([^/]+)\//.exec(name)?.[1] ?? null) : null;
}

export function requireSubscription(pubsub: { subscription: string | null }): string {
  if (!pubsub.subscription)
    throw new UsageError('no Pub/Sub subscription given', { hint: 'pass --subscription projects/P/subscriptions/S (or JOURNEY_PUBSUB_SUBSCRIPTION, or pubsub.subscription in the config file)' });
  return pubsub.subscription;
}

export function requirePubSubTopic(pubsub: { topic: string | null }): string {
  if (!pubsub.topic) throw new UsageError('no Pub/Sub topic given', { hint: 'pass --topic projects/P/topics/T (or JOURNEY_PUBSUB_TOPIC, or pubsub.topic in the config file)' });
  return pubsub.topic;
}

/** gRPC status codes the client's errors carry (google.rpc.Code). */
const CODE = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

/** The gRPC status code of a client error, if it has one. */
export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A client error as the one-line InfrastructureError users see, with a hint that fits its gRPC code. */
export function pubsubFailure(what: string, error: unknown, connection: PubSubConnection): InfrastructureError {
  if (error instanceof InfrastructureError) return error;
  const code = grpcCode(error);
  const where = connection.emulatorHost ? `emulator ${connection.emulatorHost}` : 'Google Cloud Pub/Sub';
  const hint =
    code === CODE.NOT_FOUND
      ? 'create the topic and subscription first (journeyctl migrate), or check the names'
      : code === CODE.PERMISSION_DENIED || code === CODE.UNAUTHENTICATED
        ? 'check the credentials (Application Default Credentials / Workload Identity) and their roles (roles/pubsub.subscriber, roles/pubsub.publisher)'
        : connection.emulatorHost
          ? `check that the emulator answers at ${connection.emulatorHost} (PUBSUB_EMULATOR_HOST)`
          : 'check the network to pubsub.googleapis.com and the project (journeyctl doctor)';
  const retriable = code === undefined || code === CODE.UNAVAILABLE || code === CODE.DEADLINE_EXCEEDED || code === CODE.RESOURCE_EXHAUSTED;
  return new InfrastructureError(`cannot ${what} (${where}): ${firstLine(error)}`, { hint, cause: error, retriable });
}

function firstLine(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  // google-gax appends every retried attempt's error (" : Previous errors : [...]"): the first says it.
  return message.split('\n')[0]!.replace(/\s*:?\s*Previous errors\b.*$/, '');
}
