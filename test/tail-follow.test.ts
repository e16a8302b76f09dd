import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseNdjson } from './helpers/cli.js';
import { toLine } from './helpers/journeys.js';

// Spawns the built CLI (npm test builds first): real processes, pipes instead of a terminal.
const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');

interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  exit: Promise<number | null>;
}

const started: Running[] = [];
afterEach(() => {
  for (const running of started.splice(0)) if (running.child.exitCode === null) running.child.kill('SIGKILL');
});

function start(args: string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const running = { child, stdout: () => out, stderr: () => err, exit: new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code))) }; // close: stdout fully read
  started.push(running);
  return running;
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const line = (messageId: string, minutes: number, event = 'page_viewed') => `${toLine({ messageId, event, anonymousId: 'anon-follow', minutes })}\n`;

describe('tail --follow beside a running `run` on the same data directory', () => {
  it('shows new events and rejected lines within a couple of seconds, never blocking the writer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-follow-'));
    // A run reading a stdin that stays open: it holds the embedded analytics store and keeps writing.
    const run = start(['run', '--input', '-', '--data-dir', dir]);
    run.child.stdin.write(line('before-1', 0));
    await waitFor('the first event to be stored', () => spawnSync(process.execPath, [BIN, 'tail', '--data-dir', dir], { encoding: 'utf8' }).stdout.includes('before-1'));
    // Default --from end: only what lands from now on. The rejected store is still empty: from the beginning.
    const events = start(['tail', '--follow', '--data-dir', dir]);
    const rejected = start(['tail', '--follow', '--source', 'rejected', '--from', 'beginning', '--data-dir', dir]);
    // The events tail says once (stderr) that sessions stay blank while run holds the embedded store: it is positioned.
    await waitFor('the tail to start', () => events.stderr().includes('sessions are blank while following the embedded store'));

    run.child.stdin.write(`${line('live-1', 1)}${line('live-2', 2, 'button_clicked')}{"broken":\n`);
    // (How soon they show is measured by the benchmark, not asserted here: a loaded machine is slow.)
    await waitFor('live events in tail', () => parseNdjson(events.stdout()).length >= 2);
    await waitFor('the rejected line in tail', () => parseNdjson(rejected.stdout()).length >= 1);

    run.child.stdin.write(line('live-3', 3));
    await waitFor('a later event', () => parseNdjson(events.stdout()).some((r) => r.message_id === 'live-3'));
    run.child.stdin.end();
    expect(await run.exit).toBe(0);
    expect(JSON.parse(run.stdout())).toMatchObject({ events_read: 5, accepted: 4, rejected: 1 });

    // What landed before the tail started is not shown (--from end), and nothing twice.
    const tailed = parseNdjson(events.stdout());
    expect(tailed.map((r) => r.message_id)).toEqual(['live-1', 'live-2', 'live-3']);
    expect(tailed.find((r) => r.message_id === 'live-2')).toMatchObject({ source: 'raw', event: 'button_clicked', anonymous_id: 'anon-follow', session_id: null });
    expect(parseNdjson(rejected.stdout())).toEqual([expect.objectContaining({ source: 'rejected', reason: 'invalid_json', raw: '{"broken":' })]);

    events.child.kill('SIGINT');
    rejected.child.kill('SIGINT');
    expect(await events.exit).toBe(130);
    expect(await rejected.exit).toBe(130);
    // Stopped by Ctrl-C, each says how much it showed.
    expect(events.stderr()).toContain('tail stopped (SIGINT) after 3 records shown');
    expect(rejected.stderr()).toContain('tail stopped (SIGINT) after 1 record shown');
  });

  it('ends by itself after --limit records, and a following tail with --until stops once the time has passed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-follow-limit-'));
    const run = start(['run', '--input', '-', '--data-dir', dir]);
    run.child.stdin.write(line('first', 0));
    const limited = start(['tail', '--follow', '--limit', '2', '--data-dir', dir, '--from', 'beginning']);
    const until = start(['tail', '--follow', '--until', new Date(Date.now() + 4_000).toISOString(), '--data-dir', dir]);
    await waitFor('the first event', () => parseNdjson(limited.stdout()).length >= 1);
    run.child.stdin.write(line('second', 1) + line('third', 2));
    expect(await limited.exit).toBe(0);
    expect(parseNdjson(limited.stdout()).map((r) => r.message_id)).toEqual(['first', 'second']);
    expect(await until.exit).toBe(0);
    run.child.stdin.end();
    expect(await run.exit).toBe(0);
  });
});
