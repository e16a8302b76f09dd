import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main, parseCliArgs } from './cli.js';
import { formatTruth, generateEvents, generateTruth, usersForEvents, verifyAgainstTruth, type GeneratorOptions, type GroundTruth } from './index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'journeyctl-fixtures-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('argument parsing', () => {
  it('maps flags to options', () => {
    const p = parseCliArgs(['--users', '40', '--seed', '42', '--out', 'a.ndjson', '--truth', 't.json', '--buggy-release', '--no-noise', '--days', '2', '--start', '2026-02-01T00:00:00Z']);
    expect(p).not.toBe('help');
    if (p === 'help') return;
    expect(p.options).toMatchObject({ users: 40, seed: 42, buggyRelease: true, noise: false, days: 2, start: '2026-02-01T00:00:00Z', includeUsers: true });
    expect(p.out).toBe('a.ndjson');
    expect(p.truth).toBe('t.json');
    const q = parseCliArgs(['--events', '1000000', '--seed', 'abc', '--no-truth-users', '--max-listed-ids', '0', '--cohort-size', '250']);
    if (q === 'help') throw new Error('unexpected');
    expect(q.options).toMatchObject({ users: usersForEvents(1_000_000), seed: 'abc', includeUsers: false, maxListedIds: 0, cohortSize: 250 });
    expect(parseCliArgs(['--help'])).toBe('help');
    expect(() => parseCliArgs([])).toThrow(/--users/);
    expect(() => parseCliArgs(['--users', 'x'])).toThrow(/integer/);
    expect(() => parseCliArgs(['--users', '3', '--bogus'])).toThrow();
  });
});

describe('main', () => {
  it('writes the same lines as the API and a truth file', async () => {
    const out = join(work, 'e.ndjson');
    const truthPath = join(work, 't.json');
    const code = await main(['--users', '30', '--seed', '5', '--buggy-release', '--out', out, '--truth', truthPath, '--quiet']);
    expect(code).toBe(0);
    const options: GeneratorOptions = { users: 30, seed: 5, buggyRelease: true, includeUsers: true, noise: true };
    const expected = [...generateEvents(options)].map((l) => `${l}\n`).join('');
    expect(readFileSync(out, 'utf8')).toBe(expected);
    const truth = JSON.parse(readFileSync(truthPath, 'utf8')) as GroundTruth;
    expect(truth).toEqual(JSON.parse(JSON.stringify(generateTruth(options))));
  });

  it('rejects bad arguments with exit code 2', async () => {
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await main(['--users'])).toBe(2);
      expect(await main(['--users', '3', '--days', '0'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
  });
});

describe('committed fixtures', () => {
  for (const [name, options] of [
    ['generated-small', { users: 42, seed: 42, buggyRelease: true }],
    ['generated-clean', { users: 20, seed: 7, noise: false }],
  ] as const) {
    it(`fixtures/${name} is reproducible, consistent and small`, () => {
      const ndjson = join(root, 'fixtures', `${name}.ndjson`);
      const truthFile = join(root, 'fixtures', `${name}.truth.json`);
      expect(statSync(ndjson).size).toBeLessThan(1.5 * 1024 * 1024);
      const text = readFileSync(ndjson, 'utf8');
      expect(text).toBe([...generateEvents(options)].map((l) => `${l}\n`).join(''));
      expect(readFileSync(truthFile, 'utf8')).toBe(formatTruth(generateTruth(options)));
      const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as GroundTruth;
      const { problems } = verifyAgainstTruth(text.split('\n').slice(0, -1), truth);
      expect(problems).toEqual([]);
      if (options.noise !== false) {
        // Every rejection reason is present even in this small file.
        expect(Object.keys(truth.counts.malformed).sort()).toEqual([
          'illegal_identity',
          'invalid_json',
          'invalid_timestamp',
          'missing_event',
          'missing_message_id',
          'not_an_object',
          'payload_too_large',
        ]);
        expect(truth.counts.buggy).toBeGreaterThanOrEqual(20);
      }
    });
  }
});
