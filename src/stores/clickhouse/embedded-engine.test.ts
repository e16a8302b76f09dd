import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMemoryRawStore } from '../memory/memory-raw-store.js';
import { acquireEmbeddedClickHouse, EMBEDDED_LEASE } from './embedded-engine.js';

const options = { command: 'journeyctl test', waitMs: 0, log: () => {} };
const other = { pid: 1, hostname: 'elsewhere', command: 'journeyctl other', startedAt: 0 };

describe('acquireEmbeddedClickHouse', () => {
  it('shares one chdb client per directory in a process, and lets go with the last release', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-embedded-'));
    const leases = openMemoryRawStore();
    const first = await acquireEmbeddedClickHouse(dir, leases, options);
    const second = await acquireEmbeddedClickHouse(dir, leases, options);
    expect(first.mode).toBe('owner');
    expect(second.client).toBe(first.client);
    expect(first.path).toBe(join(dir, 'analytics'));
    // The lease is held: another process is refused while anyone here holds the engine.
    expect((await leases.acquireLease(EMBEDDED_LEASE, other, 60_000)).acquired).toBe(false);

    await first.release();
    await first.release(); // twice is once
    const rows = await (await second.client.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json();
    expect(rows).toEqual([{ one: 1 }]);
    expect((await leases.acquireLease(EMBEDDED_LEASE, other, 60_000)).acquired).toBe(false);

    await second.release();
    expect((await leases.acquireLease(EMBEDDED_LEASE, other, 60_000)).acquired).toBe(true);
  });
});
