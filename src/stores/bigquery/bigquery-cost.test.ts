import type { BigQuery, Query } from '@google-cloud/bigquery';
import { describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../errors.js';
import { formatBytes } from '../ports/query-costs.js';
import { type CostedConnection, createCostGuard, limitExceeded } from './bigquery-cost.js';

/**
 * The cost guard against a stand-in client whose dry runs report what real BigQuery would: bqemulator
 * reports 0 bytes for every dry run and does not enforce maximumBytesBilled (ADR 0019), so the
 * refusal paths are proven here and the queries themselves on the emulator.
 */
function fakeConnection(estimates: Record<string, number>, maxBytesBilled: number | null) {
  const ran: string[] = [];
  const dryRuns: Query[] = [];
  const client = {
    async createQueryJob(options: Query) {
      dryRuns.push(options);
      const bytes = Object.entries(estimates).find(([fragment]) => options.query!.includes(fragment))?.[1] ?? 0;
      return [{ metadata: { statistics: { totalBytesProcessed: String(bytes) } } }];
    },
  } as unknown as BigQuery;
  const connection: CostedConnection = {
    client,
    maxBytesBilled,
    table: (name) => `\`p.d.${name}\``,
    queryOptions: (query, params) => ({ query, params, ...(maxBytesBilled === null ? {} : { maximumBytesBilled: String(maxBytesBilled) }) }),
    async *select(query) {
      ran.push(query);
      yield { n: 1 };
    },
    failure: (what, error) => new InfrastructureError(`cannot ${what}: ${String(error)}`),
  };
  return { connection, ran, dryRuns };
}

describe('BigQuery cost guard', () => {
  it('dry-runs each query first, counts its bytes, and runs it with the limit', async () => {
    const { connection, ran, dryRuns } = fakeConnection({ 'FROM a': 1_500, 'FROM b': 2_500 }, 10_000);
    const guard = createCostGuard(connection, []);
    expect(await guard.rows('SELECT 1 FROM a', {}, 'read a')).toEqual([{ n: 1 }]);
    expect(await guard.rows('SELECT 1 FROM b', {}, 'read b')).toEqual([{ n: 1 }]);
    expect(dryRuns.map((o) => [o.dryRun, o.maximumBytesBilled])).toEqual([
      [true, '10000'],
      [true, '10000'],
    ]);
    expect(ran).toEqual(['SELECT 1 FROM a', 'SELECT 1 FROM b']);
    expect(guard.costs.scanned()).toEqual({ queries: 2, bytes: 4_000 });
    expect(guard.costs.maxBytesBilled).toBe(10_000);
  });

  it('refuses a query whose estimate is over --max-bytes-billed before it runs, naming the limit and the estimate', async () => {
    const { connection, ran } = fakeConnection({ 'FROM big': 5_368_709_120 }, 1_073_741_824);
    const guard = createCostGuard(connection, []);
    const refused = await guard.rows('SELECT * FROM big', {}, 'count events per day').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InfrastructureError);
    expect((refused as InfrastructureError).message).toBe(
      'BigQuery would bill 5.0 GiB (5368709120 bytes) to count events per day, over the limit of 1.0 GiB (--max-bytes-billed 1073741824); nothing was run',
    );
    expect((refused as InfrastructureError).hint).toMatch(/--from\/--to/);
    expect((refused as InfrastructureError).exitCode).not.toBe(0);
    expect((refused as InfrastructureError).retriable).toBe(false);
    expect(ran).toEqual([]);
  });

  it("maps BigQuery's own bytesBilledLimitExceeded refusal to the same error; other errors are not its business", () => {
    const error = Object.assign(new Error('Query exceeded limit for bytes billed: 1000. 10485760 or higher required.'), {
      errors: [{ reason: 'bytesBilledLimitExceeded', message: 'Query exceeded limit for bytes billed: 1000. 10485760 or higher required.' }],
    });
    expect(limitExceeded(error, 'swap in events 2026-01-05')?.message).toBe(
      'BigQuery would bill 10.0 MiB (10485760 bytes) to swap in events 2026-01-05, over the limit of 1000 B (--max-bytes-billed 1000); nothing was run',
    );
    expect(limitExceeded(new Error('Not found: Table p:d.nowhere'), 'read')).toBeNull();
  });

  it('estimates a rebuild per day from dry runs of the day partitions it reads', async () => {
    const { connection, ran, dryRuns } = fakeConnection({ '`p.d.sessions`': 100, '`p.d.events`': 900 }, null);
    const guard = createCostGuard(connection, [
      { name: 'sessions', partitionColumn: 'started_at' },
      { name: 'events', partitionColumn: 'event_time' },
    ]);
    expect(await guard.costs.rebuildBytes(['2026-01-05', '2026-01-06'])).toEqual([
      { day: '2026-01-05', bytes: 1_000 },
      { day: '2026-01-06', bytes: 1_000 },
    ]);
    expect(dryRuns.map((o) => [o.query, o.params])).toContainEqual(['SELECT * FROM `p.d.events` WHERE DATE(event_time) = CAST(@day AS DATE)', { day: '2026-01-06' }]);
    expect(ran).toEqual([]);
  });

  it('writes bytes in binary units', () => {
    expect([0, 1023, 1024, 10_485_760, 5_368_709_120].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '10.0 MiB', '5.0 GiB']);
  });
});
