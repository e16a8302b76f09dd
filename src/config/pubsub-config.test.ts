import { describe, expect, it } from 'vitest';
import { resolveConfig, validateConfigDocument } from './config.js';

describe('pubsub config', () => {
  it('defaults to Kafka with no Pub/Sub names, and the flow control and ack deadline defaults', () => {
    const result = resolveConfig({}, {});
    expect(result.ok && result.config.streamSource).toBe('kafka');
    expect(result.ok && result.config.pubsub).toEqual({
      project: null,
      topic: null,
      subscription: null,
      ackDeadlineSeconds: 60,
      flowControl: { maxMessages: 10_000, maxBytes: 100 << 20 },
      emulatorHost: null,
    });
  });

  it('completes short names with the project, takes the project from a full topic name, and defaults the subscription to journeyctl', () => {
    const short = validateConfigDocument({ source: 'pubsub', pubsub: { project: 'acme', topic: 'events', ack_deadline: '2m', flow_control: { max_messages: 500, max_bytes: 1048576 } } }, 'f.yaml');
    expect(short.ok && short.config.streamSource).toBe('pubsub');
    expect(short.ok && short.config.pubsub).toMatchObject({
      project: 'acme',
      topic: 'projects/acme/topics/events',
      subscription: 'projects/acme/subscriptions/journeyctl',
      ackDeadlineSeconds: 120,
      flowControl: { maxMessages: 500, maxBytes: 1048576 },
    });
    const full = validateConfigDocument({ pubsub: { topic: 'projects/p1/topics/top1', subscription: 'projects/p2/subscriptions/sub2' } }, 'f.yaml');
    expect(full.ok && full.config.pubsub).toMatchObject({ project: 'p1', topic: 'projects/p1/topics/top1', subscription: 'projects/p2/subscriptions/sub2' });
  });

  it('layers file, then JOURNEY_* env, then flags; GOOGLE_CLOUD_PROJECT only when nothing else names a project', () => {
    const env = { JOURNEY_SOURCE: 'pubsub', JOURNEY_PUBSUB_PROJECT: 'from-env', JOURNEY_PUBSUB_TOPIC: 'events', PUBSUB_EMULATOR_HOST: 'localhost:8085', GOOGLE_CLOUD_PROJECT: 'ambient' };
    const fromEnv = resolveConfig({}, env);
    expect(fromEnv.ok && fromEnv.config.pubsub).toMatchObject({ project: 'from-env', topic: 'projects/from-env/topics/events', emulatorHost: 'localhost:8085' });
    expect(fromEnv.ok && fromEnv.config.streamSource).toBe('pubsub');
    const fromFlags = resolveConfig({ streamSource: 'kafka', pubsub: { project: 'flag', subscription: 'mine' } }, env);
    expect(fromFlags.ok && fromFlags.config.pubsub).toMatchObject({ project: 'flag', topic: 'projects/flag/topics/events', subscription: 'projects/flag/subscriptions/mine' });
    expect(fromFlags.ok && fromFlags.config.streamSource).toBe('kafka');
    const ambient = resolveConfig({}, { JOURNEY_PUBSUB_TOPIC: 'events', GOOGLE_CLOUD_PROJECT: 'ambient' });
    expect(ambient.ok && ambient.config.pubsub.topic).toBe('projects/ambient/topics/events');
  });

  it('reports a short name without a project, a bad name, a bad source and an ack deadline outside 10-600 s, each with its path', () => {
    const result = validateConfigDocument({ source: 'sqs', pubsub: { topic: 'events', subscription: 'projects/p/subscriptions/x', ack_deadline: '5s' } }, 'bad.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      'bad.yaml: source must be one of kafka, pubsub (got "sqs")',
      'bad.yaml: pubsub.topic: "events" is a short name and no project is set (pubsub.project, --project, JOURNEY_PUBSUB_PROJECT or GOOGLE_CLOUD_PROJECT), or give projects/P/topics/events',
      'bad.yaml: pubsub.subscription: "projects/p/subscriptions/x" is not a Pub/Sub subscription (projects/P/subscriptions/NAME, or NAME: 3-255 letters, digits, - _ . ~ + %, a letter first, not goog…)',
      'bad.yaml: pubsub.ack_deadline must be between 10s and 600s (the limits of Pub/Sub)',
    ]);
  });

  it('knows every key of the section (no unknown-key warning)', () => {
    const result = validateConfigDocument(
      { source: 'pubsub', pubsub: { project: 'acme', topic: 'events', subscription: 'journeyctl', ack_deadline: 60, flow_control: { max_messages: 1, max_bytes: 1 } } },
      'f.yaml',
    );
    expect(result).toMatchObject({ ok: true, warnings: [] });
  });
});
