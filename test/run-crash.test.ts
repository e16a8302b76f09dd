// `run` of a file SIGKILLed while it derives on the derive worker (docs/decisions/0025): the
// worker path only takes rounds of derivation.worker_from_users users (2,000 by default), so the
// threshold is lowered to 1 here. The kill comes once the worker has handed over its last chunk,
// while this thread still writes the round's groups and before the dirty marks are cleared; the
// next run (an empty file) derives what the killed one left, and the stores hold exactly what an
// uninterrupted run stores: nothing lost, nothing doubled.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { generateEvents } from '../tools/generator/generate.js';
import { killWhenSaid, parseNdjson, runCli, spawnCli } from './helpers/cli.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const CONFIG = join(FIXTURES, 'journeyctl.yaml');
const KINDS = ['sessions', 'events', 'profiles', 'journeys', 'labels', 'flags'];
/** The worker reads SQLite itself: only that raw store takes the worker path (whatever JOURNEY_RAW_ENGINE a suite runs with). */
const ENV = { JOURNEY_RAW_ENGINE: 'sqlite' };
const WORKER_SAID = /derive worker: derived (\d+) users in (\d+) chunk\(s\)/;

const dir = mkdtempSync(join(tmpdir(), 'jc-run-crash-'));
const input = join(dir, 'events.ndjson');
const empty = join(dir, 'empty.ndjson');
const workerConfig = join(dir, 'worker.yaml');
const USERS = 600;

beforeAll(() => {
  // ~47k lines: the worker derives the round in several chunks and this thread writes it in more than one group.
  writeFileSync(input, `${[...generateEvents({ users: USERS, seed: 'run-crash', buggyRelease: true })].join('\n')}\n`);
  writeFileSync(empty, '');
  writeFileSync(workerConfig, `${readFileSync(CONFIG, 'utf8')}\nderivation:\n  worker_from_users: 1\n`);
});

async function exportsOf(dataDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of KINDS) {
    const result = await runCli(['export', kind, '--data-dir', dataDir, '--config', CONFIG], { env: ENV });
    expect(result.code, result.stderr).toBe(0);
    out[kind] = result.stdout;
  }
  return out;
}

it('survives SIGKILL while the derive worker derives: the next run finishes, nothing lost or doubled', { timeout: 300_000 }, async () => {
  // The uninterrupted run, in this process: from TypeScript sources there is no compiled worker, so it derives on this thread.
  const expectedDir = join(dir, 'expected');
  const uninterrupted = await runCli(['run', '--input', input, '--data-dir', expectedDir, '--config', workerConfig, '--log-format', 'json', '--no-progress'], { env: ENV });
  expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
  expect(uninterrupted.stderr).not.toMatch(WORKER_SAID);
  const expected = await exportsOf(expectedDir);

  // The built CLI, whose derive worker is compiled: killed as soon as the worker says it derived the round.
  const crashed = join(dir, 'crashed');
  const killed = spawnCli(['run', '--input', input, '--data-dir', crashed, '--config', workerConfig, '--log-format', 'json', '--no-progress'], ENV);
  const { signal, stderr: said } = await killWhenSaid(killed, WORKER_SAID);
  expect(signal, said).toBe('SIGKILL');
  // The worker took the whole round (every user ingested) in more than one chunk.
  const [, users, chunks] = WORKER_SAID.exec(said)!;
  expect(Number(users)).toBeGreaterThan(USERS / 2);
  expect(Number(chunks)).toBeGreaterThan(1);

  // The next run has no new lines: it derives the dirty users the killed one left, on the worker too.
  const next = await spawnCli(['run', '--input', empty, '--data-dir', crashed, '--config', workerConfig, '--log-format', 'json', '--output', 'json', '--no-progress'], ENV).exit;
  expect(next.code, next.stderr).toBe(0);
  const summary = JSON.parse(next.stdout) as { events_read: number; users_derived: number };
  expect(summary.events_read).toBe(0);
  // The kill came before the round's dirty marks were cleared: the whole round is derived again.
  expect(summary.users_derived, 'the kill landed after the derive had finished').toBe(Number(users));
  expect(next.stderr).toMatch(WORKER_SAID);

  const actual = await exportsOf(crashed);
  for (const kind of KINDS) expect(actual[kind], `export ${kind}`).toBe(expected[kind]);
  // Spelled out for events: the same message ids, each once.
  const ids = parseNdjson(actual.events!).map((event) => event.message_id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBe(parseNdjson(expected.events!).length);
  expect(ids.length).toBeGreaterThan(40_000);
});
