import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../tools/generator/generate.js';
import { SqliteRawStore } from '../src/stores/sqlite/sqlite-raw-store.js';
import { runCli } from './helpers/cli.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const CONFIG = join(FIXTURES, 'journeyctl.yaml');
const DEFAULT_CHECKS = join(FIXTURES, 'checks.yaml');
const WINDOW = ['--from', '2026-01-05', '--to', '2026-01-08'];

interface Result {
  name: string;
  status: 'pass' | 'warn' | 'fail';
  measured: number | null;
  message: string;
  failingRows: Array<Record<string, unknown>>;
}

let work: string;
let clean: string;
let buggy: string;

function lines(buggyRelease: boolean): string[] {
  return [...generateEvents({ users: 150, seed: 'checks', buggyRelease })];
}

async function ingest(dataDir: string, input: string[]) {
  const file = join(work, `${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, `${input.join('\n')}\n`);
  const result = await runCli(['run', '--input', file, '--data-dir', dataDir, '--config', CONFIG]);
  expect(result.code, result.stderr).toBe(0);
}

function checksFile(yaml: string): string {
  const path = join(work, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

async function check(dataDir: string, checks: string, extra: string[] = []) {
  const result = await runCli(['check', '--checks', checks, '--data-dir', dataDir, '--config', CONFIG, '--output', 'json', ...WINDOW, ...extra]);
  const run = result.stdout ? (JSON.parse(result.stdout) as { results: Result[]; summary: Record<string, number> }) : null;
  const byName = new Map((run?.results ?? []).map((r) => [r.name, r]));
  return { code: result.code, stderr: result.stderr, run, status: (name: string) => byName.get(name)?.status, result: (name: string) => byName.get(name)! };
}

/** The same check three times: thresholds it passes, warns on and fails. */
function threeWays(name: string, body: string, pass: string, warn: string, fail: string): string {
  return [
    `  - name: ${name}_pass\n${body}    error_if: ${pass}\n`,
    `  - name: ${name}_warn\n${body}    warn_if: ${warn}\n`,
    `  - name: ${name}_fail\n${body}    warn_if: ${warn}\n    error_if: ${fail}\n`,
  ].join('');
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jc-checks-'));
  clean = join(work, 'clean');
  buggy = join(work, 'buggy');
  await ingest(clean, lines(false));
  await ingest(buggy, lines(true));
});

describe('journeyctl check: every check type passes, warns and fails on thresholds around what the data holds', () => {
  it('gives pass, warn and fail per type, exit 1 for a failed error-severity check, and a JUnit file with one testcase per check', async () => {
    const yaml = [
      'checks:\n',
      threeWays('freshness', '    type: freshness\n', '{ above: 30d }', '{ above: 1m }', '{ above: 2m }'),
      threeWays('volume', '    type: volume\n    of: events\n', '{ below: 1 }', '{ above: 10 }', '{ above: 20 }'),
      threeWays('volume_relative', '    type: volume\n    of: sessions\n    relative_to: { trailing_days: 7 }\n', '{ outside: [0.01, 100] }', '{ outside: [0.99, 1.01] }', '{ outside: [0.98, 1.02] }'),
      threeWays('rejected', '    type: rejected_rate\n', '{ above: 0.5 }', '{ above: 0.0001 }', '{ above: 0.0002 }'),
      threeWays('duplicates', '    type: duplicate_rate\n', '{ above: 0.5 }', '{ above: 0.0001 }', '{ above: 0.0002 }'),
      threeWays('late', '    type: late_rate\n    by: app_version\n', '{ above: 0.5 }', '{ above: 0.0001 }', '{ above: 0.0002 }'),
      threeWays('missing', '    type: missing_rate\n    event: form_submitted\n    property: form\n', '{ above: 0.5 }', '{ below: 1 }', '{ below: 2 }'),
      threeWays('values', '    type: accepted_values\n    event: form_submitted\n    property: success\n    values: [true]\n', '{ above: 0.99 }', '{ above: 0 }', '{ above: 0.001 }'),
      threeWays('bots', '    type: flagged_share\n    flag: bot_like\n', '{ above: 0.5 }', '{ above: 0 }', '{ above: 0.0001 }'),
      threeWays('funnel', '    type: funnel_conversion\n    funnel: purchase\n', '{ below: 0.0001 }', '{ below: 1 }', '{ below: 0.99 }'),
      threeWays('reconcile', '    type: reconcile\n', '{ above: 0 }', '{ below: 1 }', '{ below: 2 }'),
      threeWays(
        'sql',
        '    type: sql\n    query: SELECT session_id FROM {db:Identifier}.sessions FINAL WHERE started_at >= {from:DateTime64(3)} AND started_at < {to:DateTime64(3)} LIMIT 3\n',
        '{ above: 5 }',
        '{ above: 0 }',
        '{ above: 1 }',
      ),
    ].join('');
    const junit = join(work, 'junit.xml');
    const results = join(work, 'results.json');
    const run = await check(clean, checksFile(yaml), ['--junit', junit, '--results', results]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/^journeyctl: 12 check\(s\) failed: freshness_fail, volume_fail, /);
    const types = ['freshness', 'volume', 'volume_relative', 'rejected', 'duplicates', 'late', 'missing', 'values', 'bots', 'funnel', 'reconcile', 'sql'];
    for (const type of types) {
      expect([run.status(`${type}_pass`), run.status(`${type}_warn`), run.status(`${type}_fail`)], type).toEqual(['pass', 'warn', 'fail']);
      expect(run.result(`${type}_fail`).failingRows.length, type).toBeGreaterThan(0);
    }
    expect(run.run!.summary).toMatchObject({ total: 36, pass: 12, warn: 12, fail: 12 });
    expect(JSON.parse(readFileSync(results, 'utf8')).summary).toEqual(run.run!.summary);

    const xml = readFileSync(junit, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testcase' || name === 'property' }).parse(xml) as {
      testsuites: { testsuite: { '@_tests': string; '@_failures': string; testcase: Array<{ '@_name': string; failure?: { '#text': string; '@_message': string } }> } };
    };
    const suite = parsed.testsuites.testsuite;
    expect(suite.testcase).toHaveLength(36);
    expect([suite['@_tests'], suite['@_failures']]).toEqual(['36', '12']);
    const failed = suite.testcase.find((t) => t['@_name'] === 'values_fail')!;
    expect(failed.failure!['@_message']).toMatch(/error if > 0\.10%/);
    expect(failed.failure!['#text']).toContain('measured: ');
    expect(failed.failure!['#text']).toContain('sample failing rows:');
    expect(failed.failure!['#text']).toContain('"value":"false"');
  });

  it('exits 0 when only warnings fail, 1 with --warn-error; --select by name and tag, --exclude', async () => {
    const file = checksFile(
      'checks:\n  - name: dupes\n    type: duplicate_rate\n    tags: [ingest]\n    warn_if: { above: 0.0001 }\n  - name: bots\n    type: flagged_share\n    flag: bot_like\n    tags: [journeys]\n    severity: warn\n    error_if: { above: 0 }\n',
    );
    const warned = await check(clean, file);
    expect(warned.code).toBe(0);
    expect([warned.status('dupes'), warned.status('bots')]).toEqual(['warn', 'warn']);
    const strict = await check(clean, file, ['--warn-error']);
    expect(strict.code).toBe(1);
    expect(strict.result('dupes').message).toContain('--warn-error');
    expect((await check(clean, file, ['--select', 'tag:journeys'])).run!.results.map((r) => r.name)).toEqual(['bots']);
    expect((await check(clean, file, ['--select', 'dupes', '--select', 'bots', '--exclude', 'tag:ingest'])).run!.results.map((r) => r.name)).toEqual(['bots']);
    const unknown = await check(clean, file, ['--select', 'nope']);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('no check named "nope"')]);
  });

  it('fails freshness when the newest event is older than allowed at --to', async () => {
    const file = checksFile('checks:\n  - name: fresh\n    type: freshness\n    warn_if: { above: 1d }\n    error_if: { above: 3d }\n');
    const at = (to: string) => runCli(['check', '--checks', file, '--data-dir', clean, '--output', 'json', '--to', to]).then((r) => JSON.parse(r.stdout).results[0].status as string);
    expect([await at('2026-01-08'), await at('2026-01-10'), await at('2026-01-13')]).toEqual(['pass', 'warn', 'fail']);
  });

  it('reconcile fails when the raw store holds events the analytics store does not (a derive that never ran)', async () => {
    const data = join(work, 'unreconciled');
    await ingest(data, lines(false).slice(0, 2000));
    const file = checksFile('checks:\n  - name: agree\n    type: reconcile\n');
    expect((await check(data, file)).status('agree')).toBe('pass');
    const raw = SqliteRawStore.open(join(data, 'raw.sqlite'));
    const { createProcessLine } = await import('../src/pipeline/process-line.js');
    const processLine = createProcessLine({ pipeline: { maxEventBytes: 32_768, futureToleranceMs: 23 * 3_600_000, futureEvents: 'clamp' }, trackingPlan: null });
    const outcome = processLine(
      JSON.stringify({
        type: 'track',
        event: 'page_viewed',
        messageId: 'underived',
        anonymousId: 'ghost',
        timestamp: '2026-01-06T10:00:00.000Z',
        sentAt: '2026-01-06T10:00:00.100Z',
        receivedAt: '2026-01-06T10:00:00.300Z',
      }),
      Date.now(),
    );
    if (!outcome.ok) throw new Error('line rejected');
    await raw.writeBatch([outcome.event], []);
    await raw.close();
    const after = await check(data, file);
    expect(after.code).toBe(1);
    expect(after.result('agree').failingRows).toMatchObject([{ day: '2026-01-06', problem: expect.stringMatching(/^raw store has \d+ accepted events, analytics \d+$/) }]);
  });
});

describe('the shipped default checks on the generator’s buggy release', () => {
  it('pass on clean data, and fail rejected_rate per version and volume on the buggy release (exit 1)', async () => {
    const ok = await check(clean, DEFAULT_CHECKS);
    expect(ok.run!.results.filter((r) => r.status === 'fail').map((r) => `${r.name}: ${r.message}`)).toEqual([]);
    expect(ok.code).toBe(0);
    const bad = await check(buggy, DEFAULT_CHECKS);
    expect(bad.code).toBe(1);
    expect(bad.status('rejected_rate_by_version')).toBe('fail');
    expect(bad.result('rejected_rate_by_version').failingRows).toMatchObject([{ group: '2.4.0-buggy', app_version: '2.4.0-buggy', share: 1 }]);
    expect(bad.status('rejected_lines_per_day')).toBe('fail');
    expect(bad.result('rejected_lines_per_day').failingRows).toMatchObject([{ day: '2026-01-06' }]);
  });

  it('golden_journeys catches a changed label rule, naming the records it changes', async () => {
    const changed = join(work, 'changed-rule.yaml');
    writeFileSync(
      changed,
      `${readFileSync(CONFIG, 'utf8')}\nlabels:\n  - name: struggled_with_checkout\n    version: 2\n    description: Stricter.\n    after: { event: checkout_started }\n    count: { match: { event: form_error }, at_least: 6 }\n`,
    );
    const golden = ['--select', 'golden_journeys'];
    const same = await runCli(['check', '--checks', DEFAULT_CHECKS, '--data-dir', clean, '--config', CONFIG, '--output', 'json', ...golden]);
    expect(JSON.parse(same.stdout).results[0]).toMatchObject({ status: 'pass', measured: 0 });
    const result = await runCli(['check', '--checks', DEFAULT_CHECKS, '--data-dir', clean, '--config', changed, '--output', 'json', ...golden]);
    expect(result.code).toBe(1);
    const [golden0] = JSON.parse(result.stdout).results as Result[];
    expect(golden0!.status).toBe('fail');
    expect(golden0!.measured).toBeGreaterThan(0);
    expect(golden0!.failingRows.some((row) => row.section === 'findings' && String(row.key).endsWith('label struggled_with_checkout'))).toBe(true);
  });
});

describe('journeyctl demo', () => {
  it('ends with the default checks’ summary and still exits 0 (the buggy release in the fixture is a finding, not a failure)', async () => {
    const result = await runCli(['demo']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Data-quality checks \(.*checks\.yaml, 2026-01-05 … 2026-01-07\):/);
    expect(result.stdout).toMatch(/^FAIL {2}rejected_rate_by_version \[rejected_rate\] .*2\.4\.0-buggy/m);
    expect(result.stdout).toMatch(/^PASS {2}golden_journeys /m);
    expect(result.stdout).toMatch(/^checks: 14 run, \d+ passed, \d+ warned, \d+ failed/m);
  });
});

describe('journeyctl check errors', () => {
  it('exits 2 for a bad checks file, naming the check and the problem', async () => {
    const bad = checksFile('checks:\n  - name: oops\n    type: rejected_rate\n    warn_if: { abov: 0.1 }\n  - name: vague\n    type: missing_rate\n    event: x\n');
    const result = await check(clean, bad);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('check oops: warn_if: unknown key "abov" (use above, below or outside)');
    expect(result.stderr).toContain('check vague: property is required (a non-empty string)');
    expect(result.stderr).toContain('check vague: needs a threshold: warn_if, error_if or mostly');
    const typo = await check(clean, checksFile('checks:\n  - name: t\n    type: freshnes\n'));
    expect([typo.code, typo.stderr]).toEqual([2, expect.stringContaining('check t: type must be one of freshness, volume')]);
    const sql = await check(clean, checksFile('checks:\n  - name: broken_sql\n    type: sql\n    query: SELEC 1\n'));
    expect([sql.code, sql.stderr]).toEqual([2, expect.stringContaining('check broken_sql: the query must be a SELECT')]);
    const badSql = await check(clean, checksFile('checks:\n  - name: unknown_table\n    type: sql\n    query: SELECT * FROM {db:Identifier}.nowhere\n'));
    expect([badSql.code, badSql.stderr]).toEqual([2, expect.stringContaining('check unknown_table: the query failed')]);
  });

  it("reads the config file's checks section (relative paths against the config), and refuses a bad one at load", async () => {
    const config = join(work, 'with-checks.yaml');
    writeFileSync(config, `${readFileSync(CONFIG, 'utf8')}\nchecks:\n  - name: late\n    type: late_rate\n    mostly: 0.5\n`);
    const result = await runCli(['check', '--data-dir', clean, '--config', config, '--output', 'json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).results).toMatchObject([{ name: 'late', status: 'pass', threshold: 'error if > 50.0%' }]);
    writeFileSync(config, `${readFileSync(CONFIG, 'utf8')}\nchecks:\n  - name: late\n    type: late_rate\n    mostly: 5\n`);
    const bad = await runCli(['export', 'sessions', '--data-dir', clean, '--config', config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('check late: mostly must be a share between 0 and 1 (got 5)');
  });

  it('runs the shipped default checks when none are configured, says so in one line, and --checks replaces them', async () => {
    const none = await runCli(['check', '--data-dir', clean, '--config', CONFIG, '--output', 'json', ...WINDOW]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stderr.split('\n').filter((line) => line.includes('no checks configured'))).toEqual([
      `no checks configured: running the shipped default checks (${DEFAULT_CHECKS}); a \`checks:\` section in the config or --checks FILE replaces them`,
    ]);
    const shipped = await check(clean, DEFAULT_CHECKS);
    const names = (run: { results: Result[] } | null) => run!.results.map((r) => [r.name, r.status]);
    expect(names(JSON.parse(none.stdout))).toEqual(names(shipped.run));
    expect(names(shipped.run)).toHaveLength(14);
    const replaced = await check(clean, checksFile('checks:\n  - name: late\n    type: late_rate\n    mostly: 0.5\n'));
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stderr).not.toContain('no checks configured');
    expect(names(replaced.run)).toEqual([['late', 'pass']]);
  });

  it('exits 3 when the analytics store cannot be reached', async () => {
    const file = checksFile('checks:\n  - name: bots\n    type: flagged_share\n    flag: bot_like\n    warn_if: { above: 0.5 }\n');
    const result = await runCli(['check', '--checks', file, '--data-dir', clean, '--clickhouse-url', 'http://127.0.0.1:9', '--output', 'json']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^journeyctl: analytics store \(clickhouse\)/);
  });

  it('--store-failures keeps failing rows in the check_failures table', async () => {
    const file = checksFile(
      "checks:\n  - name: any_session\n    type: sql\n    query: SELECT session_id FROM {db:Identifier}.sessions FINAL LIMIT 2\n  - name: stored_failures\n    type: sql\n    query: SELECT check_name, row FROM {db:Identifier}.check_failures WHERE check_name = 'any_session'\n    severity: warn\n",
    );
    expect((await check(clean, file, ['--store-failures', '--select', 'any_session'])).code).toBe(1);
    const audit = await check(clean, file, ['--select', 'stored_failures']);
    expect(audit.result('stored_failures')).toMatchObject({ status: 'warn', measured: 2 });
    expect(audit.result('stored_failures').failingRows[0]).toMatchObject({ check_name: 'any_session', row: expect.stringContaining('session_id') });
  });
});
