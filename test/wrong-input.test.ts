import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { toLine } from './helpers/journeys.js';

const dir = () => mkdtempSync(join(tmpdir(), 'jc-wrong-'));
const events = (n: number) => Array.from({ length: n }, (_, i) => toLine({ messageId: `m${i}`, event: 'page_viewed', anonymousId: `a${i % 7}`, minutes: i })).join('\n') + '\n';

describe('wrong input is noticed, not absorbed', () => {
  it('a CSV file stops run with exit 2 naming the file, before a data directory is made', async () => {
    const root = dir();
    const input = join(root, 'events.csv');
    writeFileSync(input, 'messageId,event,userId\nm1,page_viewed,u1\n');
    const result = await runCli(['run', '--input', input, '--data-dir', join(root, 'data')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`journeyctl: input ${input} looks like CSV`);
    expect(existsSync(join(root, 'data'))).toBe(false);
  });

  it('a .gz file is read directly; the JSON summary gives pace, findings and the next step', async () => {
    const root = dir();
    const input = join(root, 'events.ndjson.gz');
    writeFileSync(input, gzipSync(events(50)));
    const result = await runCli(['run', '--input', input, '--data-dir', join(root, 'data')]);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ events_read: 50, accepted: 50, rejected: 0, sessions_flagged: expect.any(Number), release_bursts: 0, next_step: 'journeyctl report' });
    expect(summary.elapsed_s).toBeGreaterThan(0);
    expect(summary.events_per_s).toBeGreaterThan(0);
  });

  it('an input under 1% valid in its first 1,000 lines stops with exit 2 and stores nothing, unless --accept-all-rejected', async () => {
    const root = dir();
    const input = join(root, 'log.txt');
    writeFileSync(input, `${Array.from({ length: 1_200 }, (_, i) => `2026-01-05 10:00:${i % 60} INFO request served`).join('\n')}\n`);
    const data = join(root, 'data');
    const stopped = await runCli(['run', '--input', input, '--data-dir', data]);
    expect(stopped.code).toBe(2);
    expect(stopped.stderr).toContain(`input ${input}: only 0 of the first 1,200 lines are valid events`);
    expect(stopped.stderr).toContain('--accept-all-rejected');
    const rejected = await runCli(['export', 'rejected', '--data-dir', data]);
    expect(rejected.stdout).toBe('');
    const accepted = await runCli(['run', '--input', input, '--data-dir', data, '--accept-all-rejected']);
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout)).toMatchObject({ rejected: 1_200, next_step: 'journeyctl export rejected --output table' });
  });

  it('misspelt config keys are warned about with a "did you mean", and --strict-config makes them exit 2', async () => {
    const root = dir();
    const config = join(root, 'journeyctl.yaml');
    writeFileSync(config, 'pipeline:\n  session_inactivty: 45m\nstores:\n  raw:\n    engin: sqlite\n');
    const input = join(root, 'events.ndjson');
    writeFileSync(input, events(3));
    const warned = await runCli(['run', '--input', input, '--config', config, '--data-dir', join(root, 'data')]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('unknown key "pipeline.session_inactivty" ignored (did you mean "pipeline.session_inactivity"?)');
    expect(warned.stderr).toContain('unknown key "stores.raw.engin" ignored (did you mean "stores.raw.engine"?)');
    const strict = await runCli(['--strict-config', 'run', '--input', input, '--config', config, '--data-dir', join(root, 'data')]);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toContain('the configuration has 2 problems');
  });

  it('a bad --tz is named as --tz; a printed time and a whole day are accepted', async () => {
    const root = dir();
    const input = join(root, 'events.ndjson');
    writeFileSync(input, events(3));
    const data = join(root, 'data');
    expect((await runCli(['run', '--input', input, '--data-dir', data])).code).toBe(0);
    const badZone = await runCli(['export', 'sessions', '--from', '2026-01-05', '--tz', 'Europe/Berln', '--data-dir', data]);
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toContain('--tz "Europe/Berln" is not a time zone');
    const day = await runCli(['export', 'sessions', '--from', '2026-01-05', '--to', '2026-01-05', '--data-dir', data, '--output', 'ndjson']);
    expect(day.code).toBe(0);
    expect(day.stdout.trim()).not.toBe(''); // before: an empty range
    const printed = await runCli(['export', 'sessions', '--from', '2026-01-05 00:00:00.000', '--data-dir', data, '--output', 'ndjson']);
    expect(printed.stdout).toBe(day.stdout);
  });
});
