import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getServices } from '../../../test/harness/services.js';
import { describeAnalyticsStoreConformance } from '../analytics-store.conformance.js';
import type { Session } from '../../domain/session.js';
import { type BigQueryAnalyticsStore, createBigQueryAnalyticsStore } from './bigquery-analytics-store.js';

// The analytics conformance suite on BigQuery, against bqemulator (test/harness starts it). Where
// the emulator differs from BigQuery: docs/decisions/0019-bigquery-analytics.md.
const open = (streamPageRows?: number): BigQueryAnalyticsStore => {
  const { bigquery } = getServices();
  return createBigQueryAnalyticsStore(
    { project: bigquery.project, dataset: `conformance_${process.pid}_${Date.now()}`, location: 'US', maxBytesBilled: null, emulatorHost: bigquery.emulatorHost },
    streamPageRows,
  );
};

describeAnalyticsStoreConformance('BigQuery (bqemulator)', async () => open());

describe('BigQuery analytics store', () => {
  let store: BigQueryAnalyticsStore;
  beforeAll(async () => {
    store = open(2); // pages of two rows: a stream reads its one query's result page by page
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
  });

  it('streams a result larger than a page in order, and creates every table it expects', async () => {
    const sessions = [1, 2, 3, 4, 5].map((n) => sessionOf('u-page', `m${n}`, n * 1_000));
    await store.replaceUsers(['u-page'], { sessions: [...sessions].reverse(), events: [], findings: [], funnelOutcomes: [] }, 1);
    const read: string[] = [];
    for await (const session of store.streamSessions({})) read.push(session.firstMessageId);
    expect(read).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    const limited: string[] = [];
    for await (const session of store.streamSessions({}, { limit: 3 })) limited.push(session.firstMessageId);
    expect(limited).toEqual(['m1', 'm2', 'm3']);
    expect(await store.existingTables()).toEqual(expect.arrayContaining(store.expectedTables()));
    expect(await store.eventCount()).toBe(0);
  });

  it('drops whole days and empties the derived tables for repair, as the damage port asks', async () => {
    const day = 86_400_000;
    const session = (id: string, startedAt: number) => sessionOf('u-repair', id, startedAt);
    await store.replaceUsers(['u-repair'], { sessions: [session('a', 10 * day), session('b', 11 * day), session('c', 12 * day)], events: [], findings: [], funnelOutcomes: [] }, 2);
    await store.dropDays(['1970-01-11', '1970-01-13']);
    const left: string[] = [];
    for await (const s of store.streamSessions({}, { userId: 'u-repair' })) left.push(s.firstMessageId);
    expect(left).toEqual(['b']);
    await store.truncateDerived();
    expect(await store.counts()).toEqual({ sessions: 0, events: 0 });
    expect(await store.brokenParts()).toEqual([]); // a managed service: no parts of ours to break
  });
});

function sessionOf(userId: string, firstMessageId: string, startedAt: number): Session {
  return {
    sessionId: `${userId}/${firstMessageId}`,
    userId,
    anonymousIds: [],
    startedAt,
    endedAt: startedAt + 10,
    eventCount: 1,
    firstEvent: 'page_viewed',
    lastEvent: 'page_viewed',
    firstMessageId,
    appVersions: [],
    flags: [],
    labels: [],
    mode: 'gap@1',
  };
}
