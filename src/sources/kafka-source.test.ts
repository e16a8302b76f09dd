import { describe, expect, it } from 'vitest';
import { resolveConfig, validateConfigDocument } from '../config/config.js';
import { keyOf } from './kafka-source.js';

describe('kafka partition keys', () => {
  it('keys a line by anonymousId, else userId, else none', () => {
    expect(keyOf('{"anonymousId":"a1","userId":"u1"}')).toBe('a1');
    expect(keyOf('{"userId":"u1"}')).toBe('u1');
    expect(keyOf('{"anonymousId":"","userId":"u1"}')).toBe('u1');
    expect(keyOf('{"event":"x"}')).toBeNull();
    expect(keyOf('[{"anonymousId":"a1"}]')).toBeNull();
    expect(keyOf('{"anonymousId":"a1"')).toBeNull();
  });
});

describe('kafka config section', () => {
  it('defaults: no brokers, no topic, group journeyctl, from the beginning, 30 s sessions, no TLS or SASL', () => {
    const result = validateConfigDocument({}, 'test');
    expect(result.ok && result.config.kafka).toEqual({ brokers: [], topic: null, group: 'journeyctl', clientId: 'journeyctl', fromBeginning: true, sessionTimeoutMs: 30_000, ssl: false, sasl: null });
  });

  it('reads the file, then the environment, then flags', () => {
    const doc = {
      kafka: { brokers: ['k1:9092', 'k2:9092'], topic: 'events', group: 'g', session_timeout: '6s', ssl: { ca_file: '/ca.pem' }, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } },
    };
    const file = validateConfigDocument(doc, 'test');
    expect(file.ok && file.config.kafka).toMatchObject({
      brokers: ['k1:9092', 'k2:9092'],
      topic: 'events',
      group: 'g',
      sessionTimeoutMs: 6_000,
      ssl: { caFile: '/ca.pem', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
    });
    const env = resolveConfig(
      {},
      { JOURNEY_KAFKA_BROKERS: 'e1:9092, e2:9093', JOURNEY_KAFKA_TOPIC: 'env-topic', JOURNEY_KAFKA_GROUP: 'env-group', JOURNEY_KAFKA_SASL_USERNAME: 'eu', JOURNEY_KAFKA_SASL_PASSWORD: 'ep' },
    );
    expect(env.ok && env.config.kafka).toMatchObject({ brokers: ['e1:9092', 'e2:9093'], topic: 'env-topic', group: 'env-group', sasl: { mechanism: 'plain', username: 'eu', password: 'ep' } });
    const flags = resolveConfig({ kafka: { brokers: 'f:1', topic: 'flag-topic' } }, { JOURNEY_KAFKA_BROKERS: 'e1:9092', JOURNEY_KAFKA_TOPIC: 'env-topic' });
    expect(flags.ok && flags.config.kafka).toMatchObject({ brokers: ['f:1'], topic: 'flag-topic' });
  });

  it('reports every problem with its path', () => {
    const result = validateConfigDocument({ kafka: { brokers: ['nohost', 'h:99999999'], sasl: { mechanism: 'gssapi', username: 'u' } } }, 'test');
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors.join('\n');
    expect(errors).toContain('"nohost" is not host:port');
    expect(errors).toContain('"h:99999999" is not host:port');
    expect(errors).toContain('kafka.sasl needs username and password');
    expect(errors).toContain('kafka.sasl.mechanism must be one of plain, scram-sha-256, scram-sha-512');
  });
});
