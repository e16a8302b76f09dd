import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMemoryRawStore } from '../memory/memory-raw-store.js';
import { acquireEmbeddedClickHouse, EMBEDDED_LEASE } from './embedded-engine.js';
import { startChdbHttpServer } from './serve/chdb-http-server.js';
import { endpointPath, readServedEndpoint, writeServedEndpoint } from './serve/served-endpoint.js';

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

  it('an owner serves once every acquire is ready and one of them may serve', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-embedded-'));
    const leases = openMemoryRawStore();
    // A command that creates: its raw store is ready first, but may not serve (analytics tables are not there yet).
    const raw = await acquireEmbeddedClickHouse(dir, leases, { ...options, serve: false });
    await raw.ready();
    expect(existsSync(endpointPath(dir))).toBe(false);
    // A store that may serve, while another acquire is still opening: not yet.
    const analytics = await acquireEmbeddedClickHouse(dir, leases, { ...options, serve: true });
    const third = await acquireEmbeddedClickHouse(dir, leases, options);
    await analytics.ready();
    expect(existsSync(endpointPath(dir))).toBe(false);
    await third.ready();
    expect(readServedEndpoint(dir)).toMatchObject({ pid: process.pid, command: 'journeyctl test' });
    await Promise.all([raw.release(), analytics.release(), third.release()]);
    expect(existsSync(endpointPath(dir))).toBe(false);
  });
});

describe('a directory another process holds', () => {
  // The holder is simulated: a live process of this host (vitest's parent) holds the lease, and this
  // process serves the directory the way that holder would, publishing the endpoint it would write.
  const holder = { pid: process.ppid, hostname: hostname(), command: 'journeyctl run', startedAt: 1 };

  it('is read through the endpoint its holder serves, with the token as password, without waiting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-embedded-'));
    const path = join(dir, 'analytics');
    const leases = openMemoryRawStore();
    expect((await leases.acquireLease(EMBEDDED_LEASE, holder, 60_000)).acquired).toBe(true);
    const token = 'token-of-the-holder';
    const server = await startChdbHttpServer({ path, password: token, holdEngine: true });
    try {
      writeServedEndpoint(dir, { url: server.url, token, command: holder.command, startedAt: 1 });
      const engine = await acquireEmbeddedClickHouse(dir, leases, { ...options, path, connect: true });
      expect(engine.mode).toBe('connected');
      const rows = await (await engine.client.query({ query: 'SELECT 2 AS two', format: 'JSONEachRow' })).json();
      expect(rows).toEqual([{ two: 2 }]);
      await engine.release();
      // Without `connect` (run, repair), the same directory is waited for, naming its holder.
      await expect(acquireEmbeddedClickHouse(dir, leases, { ...options, path })).rejects.toThrow(/in use by `journeyctl run`/);
    } finally {
      await server.close();
    }
  });

  it('connects without waiting for an answer: a holder busy with a batch still lets a reader connect', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-embedded-'));
    const leases = openMemoryRawStore();
    expect((await leases.acquireLease(EMBEDDED_LEASE, holder, 60_000)).acquired).toBe(true);
    // The holder's port accepts connections (the kernel does) but nothing answers a request yet.
    const busy = createServer(() => {});
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      writeServedEndpoint(dir, { url: `http://127.0.0.1:${(busy.address() as AddressInfo).port}`, token: 'token', command: holder.command, startedAt: 1 });
      const engine = await acquireEmbeddedClickHouse(dir, leases, { ...options, connect: true });
      expect(engine.mode).toBe('connected');
      await engine.release();
    } finally {
      busy.close();
    }
  });

  it('never connects to an endpoint recorded on another machine: that holder serves on its own loopback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-embedded-'));
    const leases = openMemoryRawStore();
    // Something listens here on the recorded port; it is not the holder.
    const local = createServer(() => {});
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    try {
      writeServedEndpoint(dir, { url: `http://127.0.0.1:${(local.address() as AddressInfo).port}`, token: 'token', command: 'journeyctl run', startedAt: 1 });
      writeFileSync(endpointPath(dir), JSON.stringify({ ...readServedEndpoint(dir), hostname: 'elsewhere' }));
      await expect(acquireEmbeddedClickHouse(dir, leases, { ...options, connectOnly: true })).rejects.toThrow(/no live journeyctl process serves/);
    } finally {
      local.close();
    }
  });

  it('connectOnly never opens the directory: refused when no live process serves it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-embedded-'));
    const leases = openMemoryRawStore();
    await expect(acquireEmbeddedClickHouse(dir, leases, { ...options, connectOnly: true })).rejects.toThrow(/no live journeyctl process serves/);
    expect((await leases.acquireLease(EMBEDDED_LEASE, other, 60_000)).acquired).toBe(true); // never taken
    expect(existsSync(join(dir, 'analytics'))).toBe(false);
  });

  it('a stale endpoint left by a killed owner is ignored: the next process opens the directory and serves it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-embedded-'));
    const leases = openMemoryRawStore();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const stale = { url: 'http://127.0.0.1:9', token: 'old', command: 'journeyctl run', startedAt: 1 };
    writeServedEndpoint(dir, stale);
    // The record names this process; rewrite it as the dead one's.
    writeFileSync(endpointPath(dir), JSON.stringify({ ...readServedEndpoint(dir), pid: Number(dead.stdout) }));

    const engine = await acquireEmbeddedClickHouse(dir, leases, { ...options, connect: true, serve: true });
    expect(engine.mode).toBe('owner');
    await engine.ready();
    const served = readServedEndpoint(dir);
    expect(served).toMatchObject({ pid: process.pid, command: 'journeyctl test' });
    expect(served!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await engine.release();
    expect(existsSync(endpointPath(dir))).toBe(false);
  });
});

describe('a connected process outliving its holder', () => {
  it('sends a refused request again: the directory, now free, is opened here and served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-embedded-'));
    const path = join(dir, 'analytics');
    const leases = openMemoryRawStore();
    const holder = { pid: process.ppid, hostname: hostname(), command: 'journeyctl run', startedAt: 1 };
    await leases.acquireLease(EMBEDDED_LEASE, holder, 60_000);
    const token = 'token-of-the-holder';
    const server = await startChdbHttpServer({ path, password: token, holdEngine: true });
    writeServedEndpoint(dir, { url: server.url, token, command: holder.command, startedAt: 1 });
    const engine = await acquireEmbeddedClickHouse(dir, leases, { ...options, path, connect: true });
    expect(engine.mode).toBe('connected');
    await engine.client.command({ query: 'CREATE TABLE t (n UInt8) ENGINE = MergeTree ORDER BY n' });
    await engine.client.insert({ table: 't', values: [{ n: 7 }], format: 'JSONEachRow' });

    // The holder ends: it stops serving and lets go of the lease (as `run` does when its input ends).
    await server.close();
    await leases.releaseLease(EMBEDDED_LEASE, holder);
    const rows = await (await engine.client.query({ query: 'SELECT n FROM t', format: 'JSONEachRow' })).json();
    expect(rows).toEqual([{ n: 7 }]);
    expect(readServedEndpoint(dir)).toMatchObject({ pid: process.pid, command: 'journeyctl test' });
    expect((await leases.acquireLease(EMBEDDED_LEASE, holder, 60_000)).acquired).toBe(false);
    await engine.release();
    expect(existsSync(endpointPath(dir))).toBe(false);
  });
});
