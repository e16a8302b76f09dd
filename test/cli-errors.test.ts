import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toLine } from './helpers/journeys.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');

function journeyctl(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], { input: options.input ?? '', encoding: 'utf8', env: { PATH: process.env.PATH, ...options.env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function dataDir(): string {
  return mkdtempSync(join(tmpdir(), 'jc-cli-'));
}

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('bad input gets a clear one-line error and the right exit code, never a stack trace', () => {
  it('unknown flag: exit 2 naming the flag', () => {
    const result = journeyctl(['run', '--input', 'x.ndjson', '--inptu']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--inptu'/);
    noStack(result.stderr);
  });

  it('unknown command: exit 2', () => {
    expect(journeyctl(['frobnicate']).code).toBe(2);
  });

  it('unreadable input file: exit 2 with a hint', () => {
    const result = journeyctl(['run', '--input', '/nonexistent/events.ndjson', '--data-dir', dataDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('journeyctl: cannot read input /nonexistent/events.ndjson: no such file');
    expect(result.stderr).toContain('hint:');
    noStack(result.stderr);
  });

  it('corrupt config file: exit 2 naming the file and the problem', () => {
    const dir = dataDir();
    const config = join(dir, 'journeyctl.yaml');
    writeFileSync(config, 'pipeline:\n  session_inactivity: [oops\n');
    const result = journeyctl(['run', '--input', '-', '--config', config, '--data-dir', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/journeyctl\.yaml is not valid YAML\/JSON/);
    noStack(result.stderr);
  });

  it('invalid config value: exit 2 naming the key', () => {
    const dir = dataDir();
    const config = join(dir, 'journeyctl.yaml');
    writeFileSync(config, 'pipeline:\n  session_inactivity: forever\n');
    const result = journeyctl(['export', 'sessions', '--config', config, '--data-dir', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pipeline.session_inactivity: "forever" is not a duration');
  });

  it('bad export kind and bad time: exit 2', () => {
    expect(journeyctl(['export', 'sesions', '--data-dir', dataDir()]).stderr).toContain('cannot export "sesions"');
    const badTime = journeyctl(['export', 'sessions', '--from', 'last tuesday-ish', '--data-dir', dataDir()]);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('--from "last tuesday-ish" is not a time');
  });

  it('--help and --version exit 0', () => {
    expect(journeyctl(['--help']).code).toBe(0);
    expect(journeyctl(['--version']).stdout.trim()).toBe('0.1.0');
  });

  it('reads stdin with --input - and prints a JSON summary when piped', () => {
    const input = `${toLine({ messageId: 'a', event: 'page_viewed', anonymousId: 'x', minutes: 0 })}\nnot json\n`;
    const result = journeyctl(['run', '--input', '-', '--data-dir', dataDir()], { input });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ events_read: 2, accepted: 1, rejected: 1, sessions_written: 1 });
  });
});

describe('two processes on one data directory', () => {
  it('export of analytics waits for, or names, the run holding the embedded store; raw-store exports work beside it', async () => {
    const dir = dataDir();
    // A run reading a stdin that stays open holds the embedded analytics store.
    const run = spawn(process.execPath, [BIN, 'run', '--input', '-', '--data-dir', dir], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
    let runStdout = '';
    run.stdout.on('data', (chunk: Buffer) => (runStdout += chunk.toString()));
    run.stdin.write(`${toLine({ messageId: 'a', event: 'page_viewed', anonymousId: 'x', minutes: 0 })}\nnot json\n`);
    await waitFor(() => journeyctl(['export', 'rejected', '--data-dir', dir]).stdout.includes('invalid_json'));

    const blocked = journeyctl(['export', 'sessions', '--data-dir', dir, '--wait', '1s']);
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toContain('waiting for the embedded analytics store: held by `journeyctl run`');
    expect(blocked.stderr).toMatch(/the embedded analytics store is in use by `journeyctl run` \(pid \d+/);
    noStack(blocked.stderr);

    const exportProcess = spawn(process.execPath, [BIN, 'export', 'sessions', '--data-dir', dir, '--wait', '60s'], { env: { PATH: process.env.PATH } });
    let exported = '';
    let exportStderr = '';
    exportProcess.stdout.on('data', (chunk: Buffer) => (exported += chunk.toString()));
    exportProcess.stderr.on('data', (chunk: Buffer) => (exportStderr += chunk.toString()));
    const exportExit = new Promise<number | null>((resolve) => exportProcess.on('exit', resolve));
    // The run ends only once the export is waiting for it (an event, not a pause).
    await waitFor(() => exportStderr.includes('waiting for the embedded analytics store'));
    run.stdin.end();
    expect(await new Promise((resolve) => run.on('exit', resolve))).toBe(0);
    expect(JSON.parse(runStdout)).toMatchObject({ accepted: 1, sessions_written: 1 });
    expect(await exportExit).toBe(0);
    expect(exported.trim().split('\n')).toHaveLength(1);
  });

  it('frees the store at once when its holder was killed', async () => {
    const dir = dataDir();
    const run = spawn(process.execPath, [BIN, 'run', '--input', '-', '--data-dir', dir], { stdio: ['pipe', 'ignore', 'ignore'], env: { PATH: process.env.PATH } });
    run.stdin.write(`${toLine({ messageId: 'a', event: 'page_viewed', anonymousId: 'x', minutes: 0 })}\n`);
    await waitFor(() => journeyctl(['export', 'sessions', '--data-dir', dir, '--wait', '0s']).stderr.includes('in use by'));
    run.kill('SIGKILL');
    await new Promise((resolve) => run.on('exit', resolve));
    const after = journeyctl(['export', 'sessions', '--data-dir', dir, '--wait', '5s']);
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
