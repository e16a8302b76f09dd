import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KafkaConfig } from '../config/config.js';
import { clientConfig, KAFKA_CLIENT_USES, type KafkaClientUse } from './kafka-client.js';

const base: KafkaConfig = { brokers: ['b1:9093', 'b2:9093'], topic: 'events', group: 'journeyctl', clientId: 'journeyctl', fromBeginning: true, sessionTimeoutMs: 30_000, ssl: false, sasl: null };
const uses = Object.keys(KAFKA_CLIENT_USES) as KafkaClientUse[];

describe('the one Kafka client factory', () => {
  it('has a use for the source, tail, produce, doctor and migrate', () => {
    expect(uses).toEqual(expect.arrayContaining(['source', 'tail', 'produce', 'doctor', 'migrate']));
  });

  it.each(uses)('%s: the configured SASL, TLS and brokers reach the client', (use) => {
    const sasl = { mechanism: 'scram-sha-512', username: 'journey', password: 's3cret' } as const;
    const options = clientConfig({ ...base, ssl: true, sasl }, () => {}, KAFKA_CLIENT_USES[use]);
    expect(options.brokers).toEqual(['b1:9093', 'b2:9093']);
    expect(options.ssl).toBe(true);
    expect(options.sasl).toEqual(sasl);
  });

  it.each(uses)('%s: TLS files are read into the client options', (use) => {
    const dir = mkdtempSync(join(tmpdir(), 'kafka-tls-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA-PEM');
    writeFileSync(join(dir, 'cert.pem'), 'CERT-PEM');
    writeFileSync(join(dir, 'key.pem'), 'KEY-PEM');
    const ssl = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), rejectUnauthorized: false };
    expect(clientConfig({ ...base, ssl }, () => {}, KAFKA_CLIENT_USES[use]).ssl).toEqual({ rejectUnauthorized: false, ca: 'CA-PEM', cert: 'CERT-PEM', key: 'KEY-PEM' });
  });

  it.each(uses)('%s: without TLS or SASL configured, the client has neither', (use) => {
    const options = clientConfig(base, () => {}, KAFKA_CLIENT_USES[use]);
    expect(options).not.toHaveProperty('ssl');
    expect(options).not.toHaveProperty('sasl');
  });

  it('no module but the factory builds a kafkajs client (so none can skip the TLS/SASL config)', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && path !== join('src', 'sources', 'kafka-client.ts') && /new Kafka\(|\.Kafka\(/.test(readFileSync(path, 'utf8')))
          offenders.push(path);
      }
    };
    walk('src');
    expect(offenders).toEqual([]);
  });
});
