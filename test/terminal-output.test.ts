import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseNdjson, runCli } from './helpers/cli.js';

/**
 * Output that respects the terminal and the pipe (issue 13). Where a terminal matters the built
 * CLI runs under `script`, which gives it a real pty of a chosen size; everything else runs in
 * process with captured (non-TTY) streams.
 */

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const CONFIG = join(FIXTURES, 'journeyctl.yaml');
const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');
const ESC = '\u001b';

const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

/** Runs journeyctl on a pty of `cols` × `rows`; stdout and stderr both reach the terminal. */
function inPty(args: string[], options: { cols?: number; rows?: number; env?: Record<string, string> } = {}): { code: number | null; output: string } {
  const command = `stty cols ${options.cols ?? 200} rows ${options.rows ?? 500}; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { input: '', encoding: 'utf8', env: { PATH: process.env.PATH, TERM: 'xterm-256color', ...options.env } });
  return { code: result.status, output: result.stdout.replaceAll('\r\n', '\n') };
}

/** The built CLI with stdout and stderr as pipes (`> file`). */
function piped(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], { input: '', encoding: 'utf8', env: { PATH: process.env.PATH, TERM: 'xterm-256color', ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let dataDir: string;
const at = () => ['--data-dir', dataDir, '--config', CONFIG];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'jc-terminal-'));
  const run = await runCli(['run', '--input', join(FIXTURES, 'demo.ndjson'), '--output', 'json', ...at()]);
  expect(run.code, run.stderr).toBe(0);
});

describe('colour is decided in one place', () => {
  it('a terminal gets colour; NO_COLOR (any non-empty value), --no-color and TERM=dumb remove every escape code', () => {
    expect(inPty(['export', 'sessions', '--limit', '3', ...at()]).output).toContain(`${ESC}[1m`);
    for (const [args, env] of [
      [[], { NO_COLOR: '1' }],
      [[], { NO_COLOR: 'false' }],
      [['--no-color'], {}],
      [[], { TERM: 'dumb' }],
    ] as Array<[string[], Record<string, string>]>) {
      expect(inPty([...args, 'export', 'sessions', '--limit', '3', ...at()], { env }).output).not.toContain(ESC);
      // cli-table3 draws grey borders unless told not to: the report's tables are the proof.
      expect(inPty([...args, 'report', '--output', 'table', ...at()], { env }).output).not.toContain(ESC);
    }
  });

  it('no escape codes at all when stdout is not a terminal: export table, reprocess dry-run table, demo', () => {
    const exported = piped(['export', 'sessions', '--output', 'table', ...at()]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('session_id');
    expect(exported.stdout).not.toContain(ESC);
    const dryRun = piped(['reprocess', '--from', '2026-01-05', '--to', '2026-01-06', '--dry-run', '--output', 'text', ...at()]);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain('day (UTC)');
    expect(dryRun.stdout).not.toContain(ESC);
    const report = piped(['report', '--output', 'table', ...at()]);
    expect(report.stdout).toContain('funnel purchase');
    expect(report.stdout).not.toContain(ESC);
  });

  it('demo > file carries no escape codes', () => {
    const demo = piped(['demo', '--data-dir', join(mkdtempSync(join(tmpdir(), 'jc-terminal-demo-')), 'demo')]);
    expect(demo.stdout.length).toBeGreaterThan(0);
    expect(demo.stdout).not.toContain(ESC);
  });
});

describe('export --output table on a terminal', () => {
  it('fits the width: ids cut with an ellipsis, times whole and human, durations as 21m 22s, no rule between rows', () => {
    const { code, output } = inPty(['export', 'sessions', '--limit', '5', '--fields', 'session_id,user_id,started_at,duration_ms,event_count', '--no-color', ...at()], { cols: 72 });
    expect(code).toBe(0);
    const lines = output.split('\n').filter((line) => line !== '');
    expect(lines[0]).toMatch(/^session_id\s+user_id\s+started_at\s+duration\s+event_count$/);
    expect(lines).toHaveLength(6);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(72);
    expect(lines[1]).toMatch(/^[0-9a-f]+… {2}\S+… {2}2026-01-05 01:45:00 {2}12m 50s +7$/);
    expect(output).not.toMatch(/[─┼├]/);
  });

  it('shows times in --tz', () => {
    const { output } = inPty(['export', 'sessions', '--limit', '1', '--fields', 'started_at', '--tz', 'America/New_York', '--no-color', ...at()]);
    expect(output).toContain('2026-01-04 20:45:00 -05:00');
  });

  it('long output goes through $PAGER unless --no-pager; output that fits is not paged', () => {
    const env = { PAGER: "sed 's/^/PAGED: /'", NO_COLOR: '1' };
    const long = ['export', 'sessions', '--limit', '20', '--fields', 'session_id', ...at()];
    expect(
      inPty(long, { rows: 10, env })
        .output.split('\n')
        .filter((l) => l !== '')
        .every((line) => line.startsWith('PAGED: ')),
    ).toBe(true);
    expect(inPty([...long, '--no-pager'], { rows: 10, env }).output).not.toContain('PAGED');
    expect(inPty(['export', 'sessions', '--limit', '3', '--fields', 'session_id', ...at()], { rows: 10, env }).output).not.toContain('PAGED');
  });
});

describe('export --fields, --limit and filters', () => {
  const cli = (args: string[]) => runCli([...args, ...at()]);

  it('--fields chooses the columns for every format; --limit stops early', async () => {
    const csv = await cli(['export', 'sessions', '--fields', 'user_id,session_id', '--limit', '4', '--output', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('user_id,session_id');
    expect(lines).toHaveLength(5);
    const ndjson = parseNdjson((await cli(['export', 'events', '--fields', 'event,message_id', '--limit', '2'])).stdout);
    expect(ndjson.map((record) => Object.keys(record))).toEqual([
      ['event', 'message_id'],
      ['event', 'message_id'],
    ]);
    const unknown = await cli(['export', 'sessions', '--fields', 'session_id,nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown field nope');
  });

  it('--user, --session, --event and --app-version narrow the export; values are bound, never spliced into SQL', async () => {
    const all = parseNdjson((await cli(['export', 'sessions'])).stdout);
    const someone = String(all[0]!.user_id);
    const mine = parseNdjson((await cli(['export', 'sessions', '--user', someone])).stdout);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine).toEqual(all.filter((s) => s.user_id === someone));
    const session = String(all[1]!.session_id);
    const events = parseNdjson((await cli(['export', 'events', '--session', session])).stdout);
    expect(events.length).toBe(all[1]!.event_count);
    expect(new Set(events.map((e) => e.session_id))).toEqual(new Set([session]));
    const buyers = parseNdjson((await cli(['export', 'sessions', '--event', 'order_completed'])).stdout);
    const withOrder = new Set(parseNdjson((await cli(['export', 'events', '--event', 'order_completed'])).stdout).map((e) => e.session_id));
    expect(buyers.length).toBeGreaterThan(0);
    expect(new Set(buyers.map((s) => s.session_id))).toEqual(withOrder);
    const seen = all.flatMap((s) => s.app_versions as string[]);
    const rarest = [...new Set(seen)].sort((a, b) => seen.filter((v) => v === a).length - seen.filter((v) => v === b).length)[0]!;
    const versions = parseNdjson((await cli(['export', 'sessions', '--app-version', rarest])).stdout);
    expect(versions.length).toBeGreaterThan(0);
    expect(versions).toEqual(all.filter((s) => (s.app_versions as string[]).includes(rarest)));
    const versionEvents = parseNdjson((await cli(['export', 'events', '--app-version', rarest])).stdout);
    expect(versionEvents.length).toBeGreaterThan(0);
    expect(versionEvents.every((e) => e.app_version === rarest)).toBe(true);
    expect((await cli(['export', 'sessions', '--app-version', '0.0.0-none'])).stdout).toBe('');
    expect((await cli(['export', 'flags', '--app-version', '0.0.0-none'])).stdout).toBe('');
    const injected = await cli(['export', 'sessions', '--user', "' OR 1=1 --"]);
    expect(injected.code, injected.stderr).toBe(0);
    expect(injected.stdout).toBe('');
  });
});

describe('one output vocabulary', () => {
  it('every command offers its formats from table|json|ndjson|csv (text for prose) and refuses others alike', async () => {
    const commands = [
      ['export', 'sessions'],
      ['report'],
      ['check'],
      ['tail'],
      ['fix', 'list'],
      ['fix', 'split-session', 's', '--at', 'm'],
      ['fix', 'show', 'c1'],
      ['explain', 's'],
      ['inspect', 'user', 'u'],
      ['produce', '--input', '-'],
      ['repair'],
    ];
    for (const command of commands) {
      const help = await runCli([...command.filter((arg) => !['s', 'm', 'c1', 'u'].includes(arg) && arg !== '--at'), '--help']);
      const formats = /--output <format>\s+(.+?) \(default/.exec(help.stdout.replace(/\s+/g, ' '))?.[1]?.split(' | ');
      expect(formats, command.join(' ')).toBeDefined();
      for (const format of formats!) expect(['table', 'json', 'ndjson', 'csv', 'text']).toContain(format);
      const bad = await runCli([...command, '--output', 'yaml', ...at()]);
      expect(bad.code, command.join(' ')).toBe(2);
      expect(bad.stderr, command.join(' ')).toMatch(/--output must be one of /);
    }
  });

  it('check speaks ndjson and csv; tail takes table', async () => {
    const check = await runCli(['check', '--checks', join(FIXTURES, 'checks.yaml'), '--output', 'ndjson', ...at()]);
    const results = parseNdjson(check.stdout);
    expect(results.length).toBeGreaterThan(0);
    expect(Object.keys(results[0]!)).toEqual(expect.arrayContaining(['name', 'status', 'threshold', 'duration_ms']));
    const tail = await runCli(['tail', '--limit', '2', '--output', 'table', ...at()]);
    expect(tail.code, tail.stderr).toBe(0);
    expect(tail.stdout).toMatch(/^TIME \(UTC\)/);
  });
});

describe('report names funnel steps by their events', () => {
  it('in the table and in JSON', async () => {
    const json = JSON.parse((await runCli(['report', '--output', 'json', ...at()])).stdout) as { funnels: Array<{ funnel: string; steps: string[] }> };
    expect(json.funnels.find((f) => f.funnel === 'purchase')!.steps).toEqual(['product_viewed', 'product_added', 'checkout_started', 'order_completed']);
    const table = (await runCli(['report', '--output', 'table', ...at()])).stdout;
    expect(table).toContain('1. product_viewed');
    expect(table).not.toMatch(/step \d/);
  });
});

describe('no silent empty worlds', () => {
  it('an empty result says so on a terminal, with the window and the stored range', () => {
    const exported = inPty(['export', 'sessions', '--from', '2026-02-01', '--to', '2026-02-02', ...at()]);
    expect(exported.code).toBe(0);
    expect(exported.output).toContain('0 sessions between 2026-02-01 00:00:00 and 2026-02-02 00:00:00; stored events span 2026-01-05 … 2026-01-07');
    const report = inPty(['report', '--from', '2026-02-01', '--to', '2026-02-02', '--output', 'json', ...at()]);
    expect(report.output).toContain('0 sessions between 2026-02-01 00:00:00 and 2026-02-02 00:00:00; stored events span 2026-01-05 … 2026-01-07');
    // Into a pipe the stream stays clean: nothing on stdout, no chatter.
    const quiet = piped(['export', 'sessions', '--from', '2026-02-01', '--to', '2026-02-02', ...at()]);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toBe('');
  });

  it('inspect and explain of an unknown id name the data directory they looked in', async () => {
    for (const args of [
      ['explain', 'no-such-session'],
      ['inspect', 'session', 'no-such-session'],
      ['inspect', 'user', 'no-such-user'],
    ]) {
      const result = await runCli([...args, ...at()]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`in the data directory ${dataDir}`);
    }
  });
});

describe('--log-format json covers fatal errors', () => {
  it('the last line is one JSON object with level, message, hint and exit_code', async () => {
    for (const [args, code] of [
      [['export', 'sesions'], 2],
      [['export', 'sessions', '--frm', 'x'], 2],
      [['explain', 'no-such-session'], 2],
    ] as Array<[string[], number]>) {
      const result = await runCli(['--log-format', 'json', ...args, ...at()]);
      expect(result.code).toBe(code);
      const last = JSON.parse(result.stderr.trim().split('\n').at(-1)!) as Record<string, unknown>;
      expect(last).toMatchObject({ level: 'error', exit_code: code, message: expect.any(String), hint: expect.any(String) });
    }
  });
});
