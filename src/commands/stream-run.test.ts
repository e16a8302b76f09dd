import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { streamBoundsFor } from './stream-run.js';

describe('the bounds of a stream run (run --source kafka|pubsub)', () => {
  it('apply to Kafka and Pub/Sub alike', () => {
    const bounds = { untilCaughtUp: true, maxEvents: '100', maxDuration: '4m' };
    expect(streamBoundsFor('kafka', bounds)).toBe(bounds);
    expect(streamBoundsFor('pubsub', bounds)).toBe(bounds);
  });

  it('mean nothing for a file: a usage error naming the flag', () => {
    expect(streamBoundsFor('file', { untilCaughtUp: false })).toBeUndefined();
    expect(() => streamBoundsFor('file', { maxDuration: '4m' })).toThrow(UsageError);
    expect(() => streamBoundsFor('file', { maxDuration: '4m' })).toThrow(/^--max-duration applies to --source kafka or pubsub only$/);
  });

  it('--fail-on-lag is Kafka only: Pub/Sub has no end offsets to measure lag by', () => {
    expect(streamBoundsFor('kafka', { failOnLag: true })).toEqual({ failOnLag: true });
    expect(() => streamBoundsFor('pubsub', { failOnLag: true })).toThrow(/--fail-on-lag applies to --source kafka only/);
  });
});
