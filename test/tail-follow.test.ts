import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
    // Default --offset end: only what lands from now on. The rejected store is still empty: from the beginning.
    const events = start(['tail', '--follow', '--data-dir', dir]);
    const rejected = start(['tail', '--follow', '--source', 'rejected', '--offset', 'beginning', '--data-dir', dir]);
    // The events tail says once (stderr) that session ids come through the run holding the embedded store: it is positioned.
    await waitFor('the tail to start', () => events.stderr().includes('session ids come through the process holding the embedded store'));

    run.child.stdin.write(`${line('live-1', 1)}${line('live-2', 2, 'button_clicked')}{"broken":\n`);
    // (How soon they show is measured by the benchmark, not asserted here: a loaded machine is slow.)
    await waitFor('live events in tail', () => parseNdjson(events.stdout()).length >= 2);
    await waitFor('the rejected line in tail', () => parseNdjson(rejected.stdout()).length >= 1);

    run.child.stdin.write(line('live-3', 3));
    await waitFor('a later event', () => parseNdjson(events.stdout()).some((r) => r.message_id === 'live-3'));
    run.child.stdin.end();
    expect(await run.exit).toBe(0);
    expect(JSON.parse(run.stdout())).toMatchObject({ events_read: 5, accepted: 4, rejected: 1 });

    // What landed before the tail started is not shown (--offset end), and nothing twice.
    const tailed = parseNdjson(events.stdout());
    expect(tailed.map((r) => r.message_id)).toEqual(['live-1', 'live-2', 'live-3']);
    // (Its session id is there only if the run derived it before the tail read it.)
    expect(tailed.find((r) => r.message_id === 'live-2')).toMatchObject({ source: 'raw', event: 'button_clicked', anonymous_id: 'anon-follow' });
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
    // Only run creates a data directory (a tail of an empty one exits 2): the tails start once it is there.
    await waitFor('the first event to be stored', () => spawnSync(process.execPath, [BIN, 'tail', '--data-dir', dir], { encoding: 'utf8' }).stdout.includes('first'));
    const limited = start(['tail', '--follow', '--limit', '2', '--data-dir', dir, '--offset', 'beginning']);
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

/** A data directory holding `count` accepted events of one user, stored by a finished `run`. */
function storeWith(count: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'jc-follow-many-'));
  const input = join(dir, 'events.ndjson');
  writeFileSync(input, Array.from({ length: count }, (_, i) => line(`m-${i}`, i % 600)).join(''));
  const run = spawnSync(process.execPath, [BIN, 'run', '--input', input, '--data-dir', dir, '--no-progress'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  expect(run.status, run.stderr).toBe(0);
  return dir;
}

/** The closing account a tail gives on stderr: dropped of total. */
function dropAccount(stderr: string): { dropped: number; total: number } {
  const match = /tail: (\d+) matching messages? dropped of (\d+): the output could not keep up/.exec(stderr);
  expect(match, stderr).not.toBeNull();
  return { dropped: Number(match![1]), total: Number(match![2]) };
}

describe('tail that cannot show everything: samples, counts what it dropped, and stops at once', () => {
  const total = 3_000;
  let dir: string;
  it('--interval with --limit shows at most that many per interval and accounts for every record it read', async () => {
    dir = storeWith(total);
    // One interval (a minute) covers the whole read: exactly --limit records shown, the rest dropped and counted.
    const tail = start(['tail', '--offset', 'beginning', '--interval', '60000', '--limit', '5', '--data-dir', dir]);
    expect(await tail.exit, tail.stderr()).toBe(0);
    expect(parseNdjson(tail.stdout()).map((r) => r.message_id)).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
    expect(dropAccount(tail.stderr())).toEqual({ dropped: total - 5, total });
    expect(tail.stderr()).toContain('at most 5 shown per 60000 ms; the store was never held back');
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('a following tail stops on %s while it reads a backlog: exit 130, with its count and what it dropped', async (signal) => {
    const tail = start(['tail', '--follow', '--offset', 'beginning', '--interval', '60000', '--limit', '5', '--data-dir', dir]);
    // Signalled as soon as the first rows appear (an event, not a pause), whatever it is still reading.
    await waitFor('the first rows', () => parseNdjson(tail.stdout()).length >= 5);
    tail.child.kill(signal);
    expect(await tail.exit, tail.stderr()).toBe(130);
    expect(parseNdjson(tail.stdout())).toHaveLength(5);
    expect(tail.stderr()).toContain(`tail stopped (${signal}) after 5 records shown`);
    const account = dropAccount(tail.stderr());
    expect(account.total - account.dropped).toBe(5);
    expect(account.total).toBeLessThanOrEqual(total);
  });

  it('on a terminal (a pty from `script`), draws a bounded sample with the dropped count, and Ctrl-C stops it', async () => {
    const command = [process.execPath, BIN, 'tail', '--follow', '--offset', 'beginning', '--data-dir', dir].map((arg) => `'${arg}'`).join(' ');
    // script gives the tail a terminal; bytes written to script's stdin are typed on it (\x03 is Ctrl-C).
    const child = spawn('script', ['-qefc', command, '/dev/null'], { env: { PATH: process.env.PATH, TERM: 'xterm-256color', COLUMNS: '160', LINES: '40' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      // The first read is a page of 500 records and a terminal draws 100 per half second: 400 are dropped at once.
      await waitFor('the status line with the dropped count', () => /\d+ shown · \d+ dropped \(output too slow\)/.test(screen));
      child.stdin.write('\x03');
      expect(await exit, screen).toBe(130);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(screen).toContain('page_viewed');
    expect(screen).toMatch(/tail stopped \(SIGINT\) after \d+ records shown/);
    const account = dropAccount(screen);
    expect(account.dropped).toBeGreaterThanOrEqual(400);
  });
});
