import { describe, expect, it } from 'vitest';
import { InfrastructureError, UsageError } from '../errors.js';
import { createPubSubClient, projectOfName, pubsubFailure, requireSubscription } from './pubsub-client.js';

const emulator = { project: null, emulatorHost: '127.0.0.1:8085' };

describe('the one Pub/Sub client factory', () => {
  it('takes the project from the resource name when none is configured', async () => {
    expect(projectOfName('projects/acme-prod/subscriptions/journeyctl')).toBe('acme-prod');
    expect(projectOfName('journeyctl')).toBeNull();
    const client = createPubSubClient(emulator, 'projects/acme-prod/subscriptions/journeyctl');
    try {
      expect(client.projectId).toBe('acme-prod');
      expect(client.isEmulator).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('a missing subscription is a usage error saying where to give one', () => {
    expect(() => requireSubscription({ subscription: null })).toThrow(UsageError);
    expect(() => requireSubscription({ subscription: null })).toThrow(/no Pub\/Sub subscription given/);
  });

  it.each([
    [5, /journeyctl migrate/, false],
    [7, /credentials/, false],
    [16, /credentials/, false],
    [14, /PUBSUB_EMULATOR_HOST/, true],
  ])('a client error with gRPC code %i is one line with a hint that fits it', (code, hint, retriable) => {
    const error = pubsubFailure('pull from projects/p/subscriptions/s', Object.assign(new Error(`${code} SOMETHING: details\nmore`), { code }), emulator);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect(error.message).toBe(`cannot pull from projects/p/subscriptions/s (emulator 127.0.0.1:8085): ${code} SOMETHING: details`);
    expect(error.hint).toMatch(hint);
    expect(error.retriable).toBe(retriable);
  });
});
