import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from './helpers/cli.js';
import { toLine } from './helpers/journeys.js';

// Several processes on one data directory (ADR 0016): the process holding the embedded store
// (here a `run` whose stdin stays open) serves it; readers, and fix, connect instead of waiting.

const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');
const ENV = { PATH: process.env.PATH };

function journeyctl(args: string[], input = '', env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', env: { ...ENV, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
const rows = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const FIRST = [
  toLine({ messageId: 'v1', event: 'page_viewed', anonymousId: 'visitor', minutes: 0 }),
  toLine({ messageId: 'v2', event: 'product_viewed', anonymousId: 'visitor', minutes: 2 }),
  toLine({ messageId: 'u1', event: 'page_viewed', userId: 'ada', minutes: 120 }),
].join('\n');

/** A `run` reading a stdin kept open, once its first lines are stored and it serves the directory. */
async function startHeldRun(dir: string): Promise<{ run: ChildProcessWithoutNullStreams; stdout: () => string; stderr: () => string; exit: Promise<number | null> }> {
  const run = spawn(process.execPath, [BIN, 'run', '--input', '-', '--data-dir', dir], { stdio: ['pipe', 'pipe', 'pipe'], env: ENV });
  let stdout = '';
  let stderr = '';
  run.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  run.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => run.on('exit', resolve));
  run.stdin.write(`${toLine({ messageId: 'late-1', event: 'page_viewed', anonymousId: 'night', minutes: 600 })}\nnot json\n`);
  // Latches: the line is in the raw store (SQLite readers never waited) and the endpoint is published.
  await until(() => existsSync(join(dir, 'serving.json')) && journeyctl(['export', 'rejected', '--data-dir', dir]).stdout.includes('invalid_json'));
  return { run, stdout: () => stdout, stderr: () => stderr, exit };
}

describe('commands beside a running run', () => {
  it('export, tail, report and fix work while run holds the directory, without waiting for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-beside-'));
    expect(journeyctl(['run', '--input', '-', '--data-dir', dir], FIRST).code).toBe(0);
    const held = await startHeldRun(dir);
    const endpoint = JSON.parse(readFileSync(join(dir, 'serving.json'), 'utf8')) as { url: string; pid: number; token: string };
    expect(endpoint.pid).toBe(held.run.pid);
    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const exported = journeyctl(['export', 'sessions', '--data-dir', dir, '--wait', '0s']);
    expect(exported.stderr).toBe('');
    expect(exported.code, exported.stderr).toBe(0);
    expect(rows(exported.stdout).map((s) => s.anonymous_id ?? s.user_id)).toEqual(expect.arrayContaining(['visitor', 'ada']));
    expect(rows(exported.stdout)).toHaveLength(2);

    const tailed = journeyctl(['tail', '--data-dir', dir, '--limit', '10', '--output', 'ndjson']);
    expect(tailed.code, tailed.stderr).toBe(0);
    const tailedRows = rows(tailed.stdout);
    expect(tailedRows.map((r) => r.message_id)).toEqual(expect.arrayContaining(['v1', 'u1', 'late-1']));
    // Session ids come from the analytics store the run holds: read through it, not left blank.
    expect(tailedRows.find((r) => r.message_id === 'v1')?.session_id).toEqual(expect.any(String));
    // A following tail too: it reads them through the holder, never holding the directory itself.
    const following = spawnCli(['tail', '--follow', '--offset', 'beginning', '--output', 'ndjson', '--data-dir', dir]);
    await until(() => rows(following.stdout()).some((r) => r.message_id === 'v1'));
    expect(rows(following.stdout()).find((r) => r.message_id === 'v1')?.session_id).toEqual(expect.any(String));
    following.child.kill('SIGINT');
    expect((await following.exit).code).toBe(130);
    expect(following.stderr()).not.toContain('sessions are blank');

    const report = journeyctl(['report', '--data-dir', dir, '--output', 'json', '--wait', '0s']);
    expect(report.code, report.stderr).toBe(0);

    // A fix derives through the holder, one derivation at a time (the derivation lease).
    const fixed = journeyctl(['fix', 'merge-users', 'visitor', 'ada', '--reason', 'same person', '--yes', '--data-dir', dir, '--wait', '0s']);
    expect(fixed.code, fixed.stderr).toBe(0);
    // (It derives every dirty user, the held run's too: the run's own derive then finds nothing left.)
    const merged = rows(journeyctl(['export', 'sessions', '--data-dir', dir]).stdout);
    expect(merged.filter((s) => s.user_id === 'ada')).toHaveLength(2);

    expect(held.run.exitCode).toBeNull(); // all of the above while run held the directory
    held.run.stdin.end();
    expect(await held.exit, held.stderr()).toBe(0);
    expect(JSON.parse(held.stdout())).toMatchObject({ accepted: 1, rejected: 1 });
    expect(existsSync(join(dir, 'serving.json'))).toBe(false); // removed when run let go
    expect(rows(journeyctl(['export', 'sessions', '--data-dir', dir]).stdout)).toHaveLength(3);
  }, 300_000); // a dozen commands, one after another, on a shared 2-core machine

  it('a holder stopped by SIGTERM takes its endpoint with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-beside-'));
    const held = await startHeldRun(dir);
    held.run.kill('SIGTERM');
    await held.exit;
    expect(held.run.signalCode).toBe('SIGTERM');
    expect(existsSync(join(dir, 'serving.json'))).toBe(false);
  }, 120_000);

  it('ignores the endpoint a SIGKILLed holder left behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-beside-'));
    const held = await startHeldRun(dir);
    held.run.kill('SIGKILL');
    await held.exit;
    expect(existsSync(join(dir, 'serving.json'))).toBe(true); // stale: its process is gone

    const after = journeyctl(['export', 'sessions', '--data-dir', dir, '--wait', '0s']);
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    expect(existsSync(join(dir, 'serving.json'))).toBe(false); // the export opened, served and let go
  }, 120_000);

  it('a reader of the raw store alone that holds the directory serves it too (raw events in chdb)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-beside-'));
    const chdbRaw = { JOURNEY_RAW_ENGINE: 'chdb' };
    expect(journeyctl(['run', '--input', '-', '--data-dir', dir], `${FIRST}\nnot json\n`, chdbRaw).code).toBe(0);
    // tail of the rejected store opens only the raw store; following, it holds the directory.
    const tail = spawnCli(['tail', '--source', 'rejected', '--follow', '--offset', 'beginning', '--output', 'ndjson', '--data-dir', dir], chdbRaw);
    const servedBy = () => (existsSync(join(dir, 'serving.json')) ? (JSON.parse(readFileSync(join(dir, 'serving.json'), 'utf8')) as { pid: number }).pid : null);
    await until(() => rows(tail.stdout()).length === 1 && servedBy() === tail.child.pid);

    const exported = journeyctl(['export', 'sessions', '--data-dir', dir, '--wait', '0s'], '', chdbRaw);
    expect(exported.code, exported.stderr).toBe(0);
    expect(rows(exported.stdout)).toHaveLength(2);

    tail.child.kill('SIGINT');
    expect((await tail.exit).code).toBe(130);
    expect(existsSync(join(dir, 'serving.json'))).toBe(false);
  }, 120_000);

  it('run still waits for, or names, another run holding the directory: one writer at a time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-beside-'));
    const held = await startHeldRun(dir);
    const blocked = journeyctl(['run', '--input', '-', '--data-dir', dir, '--wait', '1s'], `${toLine({ messageId: 'x', event: 'page_viewed', anonymousId: 'x', minutes: 0 })}\n`);
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toContain('waiting for the embedded analytics store: held by `journeyctl run`');
    expect(blocked.stderr).toMatch(/the embedded analytics store is in use by `journeyctl run` \(pid \d+/);
    expect(blocked.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    held.run.stdin.end();
    expect(await held.exit).toBe(0);
  }, 120_000);
});

async function until(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
