import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ConfigOverrides, resolveConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'journey-raw-ch-config-'));
let files = 0;

function resolve(yaml: string, overrides: ConfigOverrides = {}, env: Record<string, string> = {}) {
  const path = join(dir, `c${(files += 1)}.yaml`);
  writeFileSync(path, yaml);
  return resolveConfig({ configPath: path, ...overrides }, env);
}

describe('stores.raw.engine: clickhouse', () => {
  it('reads its ClickHouse and MongoDB settings, defaulting the URL to the analytics server and the MongoDB database to its own', () => {
    const result = resolve(
      'stores:\n  raw: { engine: clickhouse, database: raw_db, username: ingest, password: pw, mongo_url: "mongodb://m:27017/" }\n  analytics: { engine: clickhouse, url: "http://ch:8123" }\n',
    );
    expect(result.ok && result.config.stores.raw).toEqual({
      engine: 'clickhouse',
      url: 'http://ch:8123',
      database: 'raw_db',
      username: 'ingest',
      password: 'pw',
      mongoUrl: 'mongodb://m:27017/',
      mongoDatabase: 'raw_db',
    });
  });

  it('takes --mongo-url (or JOURNEY_MONGO_URL) as its MongoDB instead of switching to the mongodb engine', () => {
    const result = resolve('stores:\n  raw: { engine: clickhouse, url: "http://ch:8123", mongo_database: side }\n', {}, { JOURNEY_MONGO_URL: 'mongodb://env:27017/' });
    expect(result.ok && result.config.stores.raw).toMatchObject({ engine: 'clickhouse', url: 'http://ch:8123', mongoUrl: 'mongodb://env:27017/', mongoDatabase: 'side', database: 'journeyctl' });
    const plain = resolve('stores:\n  raw: { engine: sqlite }\n', { mongoUrl: 'mongodb://flag:27017/' });
    expect(plain.ok && plain.config.stores.raw.engine).toBe('mongodb');
  });

  it('names both URLs it lacks', () => {
    const result = resolve('stores:\n  raw: { engine: clickhouse }\n');
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors.join('\n');
    expect(errors).toMatch(/stores\.raw\.engine is clickhouse but no ClickHouse URL is set/);
    expect(errors).toMatch(/stores\.raw\.engine is clickhouse but no MongoDB URL is set/);
  });
});
