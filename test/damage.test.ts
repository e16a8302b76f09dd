import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

// Issue 18, points 7–9: every kind of damage to a small embedded store is named (non-zero exit),
// `doctor` reports it, and `repair` restores exports identical to the undamaged store.
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const CONFIG = join(FIXTURES, 'journeyctl.yaml');
const KINDS = ['sessions', 'events', 'journeys', 'labels', 'flags', 'profiles'];
const RANGE = ['--from', '2026-01-01', '--to', '2026-02-01'];

let base: string;
let expected: Record<string, string>;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'jc-damage-'));
}

async function snapshot(dataDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of KINDS) {
    const result = await runCli(['export', kind, ...(kind === 'profiles' ? [] : RANGE), '--data-dir', dataDir, '--config', CONFIG]);
    expect(result.code, `${kind}: ${result.stderr}`).toBe(0);
    out[kind] = result.stdout;
  }
  out.mirrors = JSON.stringify(await mirrorTables(dataDir));
  return out;
}

/** What the dashboards' copies of raw-store facts hold (mirror-schema.ts), read through a sql check whose rows are the figures. */
async function mirrorTables(dataDir: string): Promise<Array<Record<string, unknown>>> {
  const checks = join(tempDir(), 'mirrors.yaml');
  writeFileSync(
    checks,
    `checks:
  - name: mirror_tables
    type: sql
    query: |
      SELECT 'pipeline_minutes' AS mirror, toString(count()) AS rows, toString(sum(lines)) AS lines, toString(sum(late)) AS late, toString(sum(extra_copies)) AS extra FROM {db:Identifier}.pipeline_minutes
      UNION ALL SELECT 'release_bursts', toString(count()), toString(sum(rejected)), toString(sum(accepted)), '' FROM {db:Identifier}.release_bursts
      UNION ALL SELECT 'corrections', toString(count()), toString(countIf(reverted = 1)), '', '' FROM {db:Identifier}.corrections
`,
  );
  const result = await runCli(['check', '--checks', checks, '--output', 'json', '--data-dir', dataDir, '--config', CONFIG]);
  expect(result.code, result.stderr).toBe(1); // any row "fails" a sql check: here the rows are the answer
  const rows = (JSON.parse(result.stdout) as { results: Array<{ failingRows: Array<Record<string, unknown>> }> }).results[0]!.failingRows;
  return rows.map(({ measured: _, ...row }) => row).sort((a, b) => String(a.mirror).localeCompare(String(b.mirror)));
}

function copyOfBase(): string {
  const dir = join(tempDir(), 'data');
  cpSync(base, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

/** The folder of one part of the events table: the table's UUID is in its definition. */
function eventsPart(dataDir: string, day: string): string {
  const definition = readFileSync(join(dataDir, 'analytics', 'metadata', 'journeyctl', 'events.sql'), 'utf8');
  const uuid = /UUID '([^']+)'/.exec(definition)![1]!;
  const folder = join(dataDir, 'analytics', 'store', uuid.slice(0, 3), uuid);
  const part = readdirSync(folder).find((name) => name.startsWith(`${day.replaceAll('-', '')}_`))!;
  return join(folder, part);
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, bytes, 0, bytes.length, offset);
  closeSync(fd);
}

interface DamageKind {
  name: string;
  damage(dataDir: string): void;
  /** The command that must notice it, and what its message must name. */
  command: string[];
  names: RegExp;
  /** Restores the raw store first where only a person can (a garbled SQLite page). */
  before?: (dataDir: string) => void;
  repairArgs?: string[];
}

const DAY = '2026-01-06';
const KINDS_OF_DAMAGE: DamageKind[] = [
  {
    name: 'garbled part',
    damage: (dir) => overwrite(join(eventsPart(dir, DAY), 'data.bin'), 2000, Buffer.from('GARBAGEGARBAGEGARBAGE')),
    command: ['export', 'events', ...RANGE],
    names: /table events, day 2026-01-06/,
  },
  { name: 'truncated part', damage: (dir) => truncateSync(join(eventsPart(dir, DAY), 'data.bin'), 3000), command: ['export', 'sessions', ...RANGE], names: /table events, day 2026-01-06/ },
  {
    name: 'altered marks',
    damage: (dir) => overwrite(join(eventsPart(dir, DAY), 'data.cmrk4'), 20, Buffer.alloc(8, 7)),
    command: ['report', '--output', 'json'],
    names: /table events, day 2026-01-06/,
  },
  {
    name: 'altered count.txt',
    damage: (dir) => writeFileSync(join(eventsPart(dir, DAY), 'count.txt'), '5'),
    command: ['run', '--input', join(FIXTURES, 'generated-small.ndjson')],
    names: /table events, day 2026-01-06/,
  },
  {
    name: 'deleted table definition',
    damage: (dir) => rmSync(join(dir, 'analytics', 'metadata', 'journeyctl', 'events.sql')),
    command: ['export', 'events', ...RANGE],
    names: /table events.*definition/,
  },
  {
    name: 'deleted mirror table definition',
    // A table the dashboards read (mirror-schema.ts): a copy of raw-store facts, published again by repair.
    damage: (dir) => rmSync(join(dir, 'analytics', 'metadata', 'journeyctl', 'pipeline_minutes.sql')),
    command: ['report', '--output', 'json'],
    names: /table pipeline_minutes.*definition/,
  },
  {
    name: 'deleted analytics/',
    damage: (dir) => rmSync(join(dir, 'analytics'), { recursive: true }),
    command: ['export', 'sessions', ...RANGE],
    names: /analytics\/ is missing or was re-created empty while the raw store holds \d+ events/,
  },
  {
    name: 'empty raw.sqlite',
    damage: (dir) => truncateSync(join(dir, 'raw.sqlite'), 0),
    command: ['export', 'sessions', ...RANGE],
    names: /the raw store is (missing|empty).* but analytics holds \d+ events/,
    // The raw store is the source of truth: put back the backup, then rebuild what depends on it.
    before: (dir) => cpSync(join(base, 'raw.sqlite'), join(dir, 'raw.sqlite')),
    repairArgs: ['--analytics-only'],
  },
  {
    name: 'garbled SQLite page',
    // The first page of the raw_events identity index.
    damage: (dir) => overwrite(join(dir, 'raw.sqlite'), pageOffset(dir, 'raw_events_identity_time'), Buffer.alloc(8, 0xff)),
    command: ['doctor'],
    names: /raw\.sqlite is damaged: .*btreeInitPage|malformed/,
    // What the hint says first: restore raw.sqlite from a backup, then repair.
    before: (dir) => cpSync(join(base, 'raw.sqlite'), join(dir, 'raw.sqlite')),
    repairArgs: ['--analytics-only'],
  },
];

function pageOffset(dataDir: string, index: string): number {
  const result = spawnSync('sqlite3', [join(dataDir, 'raw.sqlite'), `SELECT rootpage FROM sqlite_master WHERE name = '${index}'; PRAGMA page_size;`], { encoding: 'utf8' });
  const [rootpage, pageSize] = result.stdout.trim().split('\n').map(Number);
  return (rootpage! - 1) * pageSize!;
}

beforeAll(async () => {
  base = join(tempDir(), 'base');
  const run = await runCli(['run', '--input', join(FIXTURES, 'generated-small.ndjson'), '--data-dir', base, '--config', CONFIG]);
  expect(run.code, run.stderr).toBe(0);
  expected = await snapshot(base);
  expect(expected.events!.length).toBeGreaterThan(0);
  expect(expected.mirrors).toMatch(/"mirror":"pipeline_minutes","rows":"[1-9]/);
});

const tally = { kinds: KINDS_OF_DAMAGE.length, detected: 0, repaired: 0 };

describe('damaged stores are detected, named and repairable', () => {
  for (const kind of KINDS_OF_DAMAGE) {
    it(`${kind.name}: named by a command and by doctor, then repaired to identical exports`, async () => {
      const dir = copyOfBase();
      kind.damage(dir);

      const noticed = await runCli([...kind.command, '--data-dir', dir, '--config', CONFIG]);
      expect(noticed.code, noticed.stderr).toBe(3);
      expect(noticed.stderr + noticed.stdout).toMatch(kind.names);
      expect(noticed.stderr + noticed.stdout).toMatch(/journeyctl repair|restore/);

      const doctor = await runCli(['doctor', '--output', 'json', '--data-dir', dir, '--config', CONFIG]);
      expect(doctor.code, doctor.stderr).toBe(3);
      expect(doctor.stdout).toMatch(kind.names);
      tally.detected += 1;

      kind.before?.(dir);
      const dry = await runCli(['repair', '--dry-run', ...(kind.repairArgs ?? []), '--data-dir', dir, '--config', CONFIG]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(JSON.parse(dry.stdout).dryRun).toBe(true);
      const repair = await runCli(['repair', '--yes', ...(kind.repairArgs ?? []), '--data-dir', dir, '--config', CONFIG]);
      expect(repair.code, repair.stderr).toBe(0);
      expect(repair.stderr).toMatch(/repair: done/);

      expect(await snapshot(dir)).toEqual(expected);
      const healthy = await runCli(['doctor', '--output', 'json', '--data-dir', dir, '--config', CONFIG]);
      expect(healthy.code, healthy.stdout).toBe(0);
      tally.repaired += 1;
    });
  }

  it('reports the tally for the closing note', () => {
    // Runs after the kinds above (vitest runs a file's tests in order).
    expect(tally).toEqual({ kinds: 9, detected: 9, repaired: 9 });
    process.stderr.write(`${tally.kinds} damage kinds, ${tally.detected} detected, ${tally.repaired} repaired\n`);
  });

  it('repair without --dry-run or --yes refuses to run unattended, and an undamaged store needs nothing', async () => {
    const dir = copyOfBase();
    const unattended = await runCli(['repair', '--data-dir', dir, '--config', CONFIG]);
    expect(unattended.code).toBe(2);
    const nothing = await runCli(['repair', '--yes', '--data-dir', dir, '--config', CONFIG]);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.stderr).toMatch(/no damage found/);
    expect(await snapshot(dir)).toEqual(expected);
  });

  it('parts of two data directories are refused, not mixed', async () => {
    const dir = copyOfBase();
    const other = join(tempDir(), 'other');
    const run = await runCli(['run', '--input', join(FIXTURES, 'generated-small.ndjson'), '--data-dir', other, '--config', CONFIG]);
    expect(run.code, run.stderr).toBe(0);
    rmSync(join(dir, 'raw.sqlite'));
    cpSync(join(other, 'raw.sqlite'), join(dir, 'raw.sqlite'));
    const refused = await runCli(['export', 'sessions', ...RANGE, '--data-dir', dir, '--config', CONFIG]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/different data directories/);
  });
});

describe('no silent empty worlds (issue 13)', () => {
  const READS = [['export', 'sessions'], ['report'], ['inspect', 'user', 'u1'], ['explain', 's1'], ['check', '--checks', join(FIXTURES, 'checks.yaml')], ['tail'], ['fix', 'list']];
  for (const [label, dir] of [
    ['does not exist', () => join(tempDir(), 'missing')],
    ['is empty', () => tempDir()],
  ] as const) {
    it(`read commands on a data directory that ${label} exit 2 and create nothing`, async () => {
      for (const read of READS) {
        const dataDir = dir();
        const result = await runCli([...read, '--data-dir', dataDir, '--config', CONFIG]);
        expect(result.code, `${read.join(' ')}: ${result.stderr}`).toBe(2);
        expect(result.stderr).toContain(`no journeyctl data in ${dataDir} (${label === 'is empty' ? 'it is empty' : 'it does not exist'})`);
        expect(result.stderr).toContain('run `journeyctl run --input …` first or pass --data-dir');
        expect(existsSync(join(dataDir, 'raw.sqlite'))).toBe(false);
        expect(existsSync(join(dataDir, 'analytics'))).toBe(false);
      }
    });
  }

  it('a missing raw.sqlite beside analytics that hold data is refused, not recreated empty', async () => {
    const dir = copyOfBase();
    rmSync(join(dir, 'raw.sqlite'));
    const refused = await runCli(['run', '--input', join(FIXTURES, 'generated-small.ndjson'), '--data-dir', dir, '--config', CONFIG]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/the raw store is missing .* but analytics holds \d+ events/);
    expect(refused.stderr).toContain('journeyctl repair --analytics-only');
    expect(existsSync(join(dir, 'raw.sqlite'))).toBe(false);
  });
});
