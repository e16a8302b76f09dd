import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { VALIDATION_META_KEY } from '../src/services/validation-config.js';
import { generateEvents } from '../tools/generator/generate.js';
import { killWhenSaid, parseNdjson, runCli, spawnCli } from './helpers/cli.js';
import { toLine } from './helpers/journeys.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const CONFIG = join(FIXTURES, 'journeyctl.yaml');
const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');
const KINDS = ['sessions', 'events', 'journeys', 'labels', 'flags'];
const RANGE = ['--from', '2026-01-05', '--to', '2026-01-08'];

async function ingest(dataDir: string, input: string, config = CONFIG, env?: Record<string, string | undefined>) {
  const result = await runCli(['run', '--input', input, '--data-dir', dataDir, '--config', config], { env });
  expect(result.code, result.stderr).toBe(0);
}

async function snapshot(dataDir: string, config = CONFIG, env?: Record<string, string | undefined>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of KINDS) out[kind] = (await runCli(['export', kind, '--data-dir', dataDir, '--config', config], { env })).stdout;
  return out;
}

async function reprocess(dataDir: string, extra: string[] = [], config = CONFIG) {
  return runCli(['reprocess', ...RANGE, '--data-dir', dataDir, '--config', config, '--yes', ...extra]);
}

/** The validation config the raw store notes its events were accepted under (raw.sqlite holds meta on both embedded raw engines). */
function storedValidation(dataDir: string): string | undefined {
  const db = new Database(join(dataDir, 'raw.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT value FROM meta WHERE key = ?').get(VALIDATION_META_KEY) as { value: string } | undefined)?.value;
  } finally {
    db.close();
  }
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'jc-reprocess-'));
}

let bigInput: string;
beforeAll(() => {
  // Enough events that rebuilding a day takes a noticeable moment (for the crash test).
  bigInput = join(tempDir(), 'events.ndjson');
  writeFileSync(bigInput, `${[...generateEvents({ users: 300, seed: 'reprocess', buggyRelease: true })].join('\n')}\n`);
});

describe('reprocess', () => {
  it('is idempotent: unchanged raw data, twice, leaves byte-identical exports', async () => {
    const data = tempDir();
    await ingest(data, join(FIXTURES, 'generated-small.ndjson'));
    const before = await snapshot(data);
    expect(parseNdjson(before.labels!).length).toBeGreaterThan(0);
    const first = await reprocess(data);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).days.map((d: { day: string }) => d.day)).toEqual(['2026-01-05', '2026-01-06', '2026-01-07']);
    expect(await snapshot(data)).toEqual(before);
    expect((await reprocess(data)).code).toBe(0);
    expect(await snapshot(data)).toEqual(before);
  });

  it('applies a changed config to old data: equal to a fresh ingest with that config', async () => {
    const dir = tempDir();
    const stricter = join(dir, 'stricter.yaml');
    writeFileSync(
      stricter,
      `${readFileSync(CONFIG, 'utf8')}\nlabels:\n  - name: searched\n    version: 1\n    description: Searched at least once.\n    count: { match: { event: search_performed }, at_least: 1 }\n`,
    );
    const reprocessed = join(dir, 'reprocessed');
    await ingest(reprocessed, join(FIXTURES, 'generated-small.ndjson'));
    const result = await reprocess(reprocessed, [], stricter);
    expect(result.code, result.stderr).toBe(0);
    const fresh = join(dir, 'fresh');
    await ingest(fresh, join(FIXTURES, 'generated-small.ndjson'), stricter);
    const expected = await snapshot(fresh, stricter);
    expect(parseNdjson(expected.labels!).some((l) => l.name === 'searched')).toBe(true);
    expect(await snapshot(reprocessed, stricter)).toEqual(expected);
  });

  it('validates stored lines again when the validation config changed, or the store was written under two configs (ADR 0023)', async () => {
    const dir = tempDir();
    const input = join(FIXTURES, 'generated-small.ndjson');
    // search_performed leaves the tracking plan (allow_unplanned: false): those stored events are now rejected.
    const strict = join(dir, 'strict.yaml');
    const text = readFileSync(CONFIG, 'utf8');
    expect(text).toContain('    search_performed: {}\n');
    writeFileSync(strict, text.replace('    search_performed: {}\n', ''));
    const nowRejected = (stdout: string) => (JSON.parse(stdout) as { days: Array<{ nowRejected: number }> }).days.reduce((sum, d) => sum + d.nowRejected, 0);
    const fresh = join(dir, 'fresh');
    await ingest(fresh, input, strict);
    // A fresh store is noted with the config it was ingested under (before its first batch), never as mixed.
    expect(storedValidation(fresh)).toMatch(/^[0-9a-f]{64}$/);
    const expected = await snapshot(fresh, strict);

    // Stored under the fixture's plan, reprocessed under the stricter one.
    const changed = join(dir, 'changed');
    await ingest(changed, input);
    const first = await reprocess(changed, ['--output', 'json'], strict);
    expect(first.code, first.stderr).toBe(0);
    expect(nowRejected(first.stdout)).toBeGreaterThan(0);
    expect(await snapshot(changed, strict)).toEqual(expected);

    // Stored under the stricter plan, then the same input under the fixture's (search_performed accepted):
    // reprocess under the stricter plan must not take those stored fields as valid.
    const mixed = join(dir, 'mixed');
    await ingest(mixed, input, strict);
    await ingest(mixed, input);
    expect(storedValidation(mixed)).toBe('mixed');
    const second = await reprocess(mixed, ['--output', 'json'], strict);
    expect(second.code, second.stderr).toBe(0);
    expect(nowRejected(second.stdout)).toBe(nowRejected(first.stdout));
    expect(await snapshot(mixed, strict)).toEqual(expected);
  });

  it('shows the plan with --dry-run and writes nothing; refuses to run unattended without --yes', async () => {
    const data = tempDir();
    await ingest(data, join(FIXTURES, 'generated-small.ndjson'));
    const before = await snapshot(data);
    const dry = await runCli(['reprocess', ...RANGE, '--data-dir', data, '--config', CONFIG, '--dry-run']);
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout) as { dryRun: boolean; days: Array<{ before: { sessions: number }; after: { sessions: number } }> };
    expect(plan.dryRun).toBe(true);
    expect(plan.days.map((d) => d.after.sessions)).toEqual(plan.days.map((d) => d.before.sessions));
    expect(await snapshot(data)).toEqual(before);
    const unattended = await runCli(['reprocess', ...RANGE, '--data-dir', data, '--config', CONFIG]);
    expect(unattended.code).toBe(2);
    expect(unattended.stderr).toContain('pass --yes');
  });

  // Twice: on this thread (the input's days are far below derivation.worker_from_users), and with
  // the threshold at 1 user so every day's odd chunks are derived on the worker (ADR 0025), killed
  // while the second day is still being staged, once the worker has handed over its chunks. Both
  // reprocesses run the built CLI (the worker is compiled); the worker needs the SQLite raw store.
  const crashes = [
    { path: 'this thread', workerFromUsers: null, rawEngine: process.env.JOURNEY_RAW_ENGINE, killAt: /rebuilt:/ },
    { path: 'the derive worker', workerFromUsers: 1, rawEngine: 'sqlite', killAt: /derive worker: derived \d+ chunk\(s\) of 2026-01-06/ },
  ] as const;
  let uninterrupted: { dir: string; config: string; exports: Record<string, string> } | undefined;
  /** One uninterrupted reprocess (on this thread) under the stricter config: what both crashed ones must end with. */
  async function expectedAfterReprocess() {
    if (uninterrupted) return uninterrupted;
    const dir = tempDir();
    const expectedDir = join(dir, 'expected');
    await ingest(expectedDir, bigInput);
    const config = join(dir, 'stricter.yaml');
    writeFileSync(config, `${readFileSync(CONFIG, 'utf8')}\nflags:\n  bot_like: { min_events: 10 }\n`);
    const result = await reprocess(expectedDir, ['--log-format', 'json'], config);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('derive worker:');
    return (uninterrupted = { dir, config, exports: await snapshot(expectedDir, config) });
  }
  /** The days the derive worker said it derived chunks of. */
  const workerDays = (said: string) => [...said.matchAll(/derive worker: derived [1-9]\d* chunk\(s\) of (\d{4}-\d\d-\d\d)/g)].map((match) => match[1]);

  it.each(crashes)('survives SIGKILL half-way on $path: --resume finishes and the result equals an uninterrupted run', { timeout: 180_000 }, async ({ workerFromUsers, rawEngine, killAt }) => {
    const { dir, config: stricter, exports: expected } = await expectedAfterReprocess();
    const config = workerFromUsers === null ? stricter : join(dir, `worker-from-${workerFromUsers}.yaml`);
    if (workerFromUsers !== null) writeFileSync(config, `${readFileSync(stricter, 'utf8')}\nderivation:\n  worker_from_users: ${workerFromUsers}\n`);
    const env = { JOURNEY_RAW_ENGINE: rawEngine };
    const crashed = join(dir, `crashed-${workerFromUsers ?? 'in-thread'}`);
    await ingest(crashed, bigInput, CONFIG, env);
    const args = ['reprocess', ...RANGE, '--data-dir', crashed, '--config', config, '--yes', '--log-format', 'json'];
    const { signal, stderr: said } = await killWhenSaid(spawnCli(args, env), killAt);
    expect(signal, said).toBe('SIGKILL');
    const resumed = await spawnCli([...args, '--resume'], env).exit;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming: [12] day\(s\) already rebuilt/);
    // Which path derived: the worker says, per day, how many chunks it derived.
    if (workerFromUsers === null) {
      expect(workerDays(said + resumed.stderr)).toEqual([]);
    } else {
      // The killed process had the worker derive chunks of the first two days; the resumed one, of the days left (the last at least).
      expect(workerDays(said)).toEqual(['2026-01-05', '2026-01-06']);
      expect(workerDays(resumed.stderr)).toContain('2026-01-07');
    }
    expect(await snapshot(crashed, stricter, env)).toEqual(expected);
  });

  it('lets one reprocess write at a time: the second connects to the first, waits for its derivation, naming it, and the result is the same', async () => {
    const data = tempDir();
    await ingest(data, bigInput);
    const expected = await snapshot(data);
    const start = () => spawn(process.execPath, [BIN, 'reprocess', ...RANGE, '--data-dir', data, '--config', CONFIG, '--yes'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const first = start();
    await new Promise((resolve) => first.stderr.once('data', resolve));
    const second = start();
    let secondErr = '';
    second.stderr.on('data', (chunk: Buffer) => (secondErr += chunk.toString()));
    const codes = await Promise.all([first, second].map((child) => new Promise((resolve) => child.on('exit', resolve))));
    expect(codes, secondErr).toEqual([0, 0]);
    expect(secondErr).toContain('waiting for derivation: held by `journeyctl reprocess`');
    expect(await snapshot(data)).toEqual(expected);
  }, 180_000);

  it('keeps a session crossing the range edge whole and in one day; late events are picked up by the next run and reprocess', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    // 23:50 → 00:20: one session across midnight (T0 is 09:00 on 2026-01-05).
    const night = [0, 10, 20, 30].map((minute, i) => toLine({ messageId: `night-${i}`, event: 'page_viewed', anonymousId: 'owl', minutes: 14 * 60 + 50 + minute }));
    writeFileSync(join(dir, 'night.ndjson'), `${night.join('\n')}\n`);
    await ingest(data, join(dir, 'night.ndjson'));
    const before = await snapshot(data);
    const onlySecondDay = await runCli(['reprocess', '--from', '2026-01-06', '--to', '2026-01-07', '--data-dir', data, '--config', CONFIG, '--yes']);
    expect(onlySecondDay.code, onlySecondDay.stderr).toBe(0);
    const sessions = parseNdjson((await snapshot(data)).sessions!);
    expect(sessions.map((s) => [s.started_at, s.event_count])).toEqual([['2026-01-05T23:50:00.200Z', 4]]);
    expect(await snapshot(data)).toEqual(before);

    // A late event for the already-reprocessed first day arrives: run picks it up at once...
    const late = toLine({ messageId: 'night-late', event: 'button_clicked', anonymousId: 'owl', minutes: 14 * 60 + 45, delayMinutes: 600 });
    writeFileSync(join(dir, 'late.ndjson'), `${late}\n`);
    await ingest(data, join(dir, 'late.ndjson'));
    const afterLate = await snapshot(data);
    expect(parseNdjson(afterLate.sessions!).map((s) => [s.started_at, s.event_count])).toEqual([['2026-01-05T23:45:00.200Z', 5]]);
    // ...and so does the next reprocess, to the same result as ingesting everything fresh.
    expect((await reprocess(data)).code).toBe(0);
    expect(await snapshot(data)).toEqual(afterLate);
    const fresh = join(dir, 'fresh');
    writeFileSync(join(dir, 'all.ndjson'), `${[...night, late].join('\n')}\n`);
    await ingest(fresh, join(dir, 'all.ndjson'));
    expect(await snapshot(fresh)).toEqual(afterLate);
  });
});

describe('reprocess flags', () => {
  it('rejects bad ranges and values with exit 2', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'reprocess', ...args, '--data-dir', tempDir()], { encoding: 'utf8' });
    expect(run(['--from', '2026-01-05']).stderr).toContain('reprocess needs --from and --to');
    expect(run(['--from', '2026-01-06', '--to', '2026-01-05', '--yes']).status).toBe(2);
    expect(run([...RANGE, '--concurrency', '0', '--yes']).stderr).toContain('--concurrency must be a whole number from 1 to 8');
  });

  it('--lookback defaults to the configured session gap, not a fixed 30m', async () => {
    const dir = tempDir();
    const config = join(dir, 'gap-2h.yaml');
    writeFileSync(config, 'pipeline:\n  session_inactivity: 2h\n');
    const at = (id: string, user: string, time: string) => JSON.stringify({ type: 'track', messageId: id, event: 'page_viewed', userId: user, timestamp: time, sentAt: time, receivedAt: time });
    const input = join(dir, 'edge.ndjson');
    // u-edge's only event is 1 h before the range: within a 2 h session gap, outside 30 min.
    writeFileSync(input, `${at('m-edge', 'u-edge', '2026-01-04T23:00:00.000Z')}\n${at('m-in', 'u-in', '2026-01-05T10:00:00.000Z')}\n`);
    await ingest(dir, input, config);
    const users = async (extra: string[]) => {
      const result = await runCli(['reprocess', '--from', '2026-01-05', '--to', '2026-01-06', '--data-dir', dir, '--config', config, '--dry-run', '--output', 'json', ...extra]);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout).days[0].users as number;
    };
    expect(await users([])).toBe(2);
    expect(await users(['--lookback', '30m'])).toBe(1);
  });
});
