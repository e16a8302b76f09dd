import { spawnSync } from 'node:child_process';
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
