import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { drainPending } from 'chdb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeAnalyticsStoreConformance } from '../../analytics-store.conformance.js';
import { openServerAnalytics } from '../open-clickhouse.js';
import { type ChdbHttpServer, startChdbHttpServer } from './chdb-http-server.js';

// The server journeyctl serves a held data directory with, in this process: the analytics
// conformance suite over it, as over a ClickHouse server; a wrong password is refused.
let server: ChdbHttpServer;
const password = 'local-token';
beforeAll(async () => {
  server = await startChdbHttpServer({ path: mkdtempSync(join(tmpdir(), 'jc-serve-')), password, holdEngine: true, maxConcurrentQueries: 1 });
});
afterAll(async () => {
  await server.close();
  await drainPending();
});

describeAnalyticsStoreConformance('chdb served over HTTP', async () => openServerAnalytics({ url: server.url, database: `served_${Date.now()}`, username: 'default', password }));

describe('the served chdb', () => {
  it('refuses a wrong password like ClickHouse (403, AUTHENTICATION_FAILED)', async () => {
    const client = createClient({ url: server.url, username: 'default', password: 'guess', log: { level: ClickHouseLogLevel.OFF } });
    await expect(client.query({ query: 'SELECT 1' })).rejects.toThrow(/AUTHENTICATION_FAILED|Authentication failed/);
    await client.close();
  });

  it("keeps a published copy's token only while every mirror table holds what was published", async () => {
    const database = `facts_${Date.now()}`;
    const store = await openServerAnalytics({ url: server.url, database, username: 'default', password });
    const client = createClient({ url: server.url, username: 'default', password });
    const minute = { bucketStart: Date.UTC(2026, 0, 5, 10, 1), appVersion: '1.2.0', accepted: 3, late: 1, extraCopies: 0, rejected: { invalid_json: 2 } };
    try {
      await store.migrate();
      expect(await store.pipelineFactsToken!()).toBeNull();
      await store.publishPipelineFacts({ minutes: [minute], bursts: [], corrections: [] }, 'token-1');
      expect(await store.pipelineFactsToken!()).toBe('token-1');
      // A copy published without a token is not known to be current.
      await store.publishPipelineFacts({ minutes: [minute], bursts: [], corrections: [] });
      expect(await store.pipelineFactsToken!()).toBeNull();
      await store.publishPipelineFacts({ minutes: [minute], bursts: [], corrections: [] }, 'token-2');
      // A mirror table emptied (or dropped and re-created by the next open) since: no longer whole.
      await client.command({ query: `TRUNCATE TABLE ${database}.pipeline_minutes` });
      expect(await store.pipelineFactsToken!()).toBeNull();
    } finally {
      await client.close();
      await store.close();
    }
  });

  it('answers queries that arrive together one at a time, all of them', async () => {
    const client = createClient({ url: server.url, username: 'default', password });
    const answers = await Promise.all([1, 2, 3, 4].map(async (n) => (await client.query({ query: 'SELECT {n:UInt8} AS n', query_params: { n }, format: 'JSONEachRow' })).json<{ n: number }>()));
    expect(answers.flat().map((row) => row.n)).toEqual([1, 2, 3, 4]);
    await client.close();
  });
});
