import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../tools/generator/generate.js';
import type { GroundTruth } from '../tools/generator/truth.js';
import { parseNdjson, runCli } from './helpers/cli.js';
import { versionedLine } from './helpers/release-lines.js';
import { shuffled } from './helpers/journeys.js';

const CONFIG = join(import.meta.dirname, '..', 'fixtures', 'journeyctl.yaml');

function generate(buggyRelease: boolean): { lines: string[]; truth: GroundTruth } {
  const generator = generateEvents({ users: 300, seed: 'release-burst', buggyRelease });
  const lines: string[] = [];
  let next = generator.next();
  while (!next.done) {
    lines.push(next.value);
    next = generator.next();
  }
  return { lines, truth: next.value };
}

function write(dir: string, name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function ingest(dataDir: string, input: string) {
  const result = await runCli(['run', '--input', input, '--data-dir', dataDir, '--config', CONFIG]);
  expect(result.code, result.stderr).toBe(0);
}

async function exported(dataDir: string, kind: string) {
  const result = await runCli(['export', kind, '--data-dir', dataDir, '--config', CONFIG, '--output', 'ndjson']);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

describe('release_burst on the generator’s buggy release', () => {
  let dir: string;
  let buggy: { lines: string[]; truth: GroundTruth };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jc-bursts-'));
    buggy = generate(true);
    await ingest(join(dir, 'in-order'), write(dir, 'buggy.ndjson', buggy.lines));
  });

  it('finds one burst: the buggy version, a window overlapping the true one, counts and top reasons', async () => {
    const truth = buggy.truth.buggyRelease!;
    const bursts = parseNdjson(await exported(join(dir, 'in-order'), 'bursts'));
    expect(bursts).toHaveLength(1);
    const [burst] = bursts;
    expect(burst!.app_version).toBe(truth.version);
    expect(Date.parse(String(burst!.window_start))).toBeLessThan(Date.parse(truth.windowEnd));
    expect(Date.parse(String(burst!.window_end))).toBeGreaterThan(Date.parse(truth.windowStart));
    expect(burst!.rejected).toBe(truth.events);
    expect(burst!.share).toBe(1);
    const topReason = Object.entries(truth.byReason).sort(([, a], [, b]) => b! - a!)[0]![0];
    expect((burst!.top_reasons as string[])[0]).toMatch(new RegExp(`^${topReason} `));
  });

  it('shows the burst in report; any flagged session is one whose user had buggy lines rejected around it', async () => {
    const report = await runCli(['report', '--data-dir', join(dir, 'in-order'), '--config', CONFIG, '--output', 'json']);
    expect(JSON.parse(report.stdout).bursts).toMatchObject([{ app_version: '2.4.0-buggy' }]);
    // The generator's upgraded users send their buggy lines in the window, mostly away from their
    // (accepted) sessions, so few sessions or none carry the version: the burst is the finding.
    const buggyIds = new Set(buggy.truth.noiseDetail.buggy.map((b) => b.messageId));
    for (const flag of parseNdjson(await exported(join(dir, 'in-order'), 'flags')).filter((f) => f.name === 'release_burst')) {
      for (const id of flag.evidence as string[]) expect(buggyIds.has(id)).toBe(true);
    }
  });

  it('is deterministic: shuffled input split over two runs gives identical bursts and flags', async () => {
    const mixed = shuffled(buggy.lines, 11);
    const half = Math.floor(mixed.length / 2);
    const split = join(dir, 'split');
    await ingest(split, write(dir, 'b.ndjson', mixed.slice(half)));
    await ingest(split, write(dir, 'a.ndjson', mixed.slice(0, half)));
    for (const kind of ['bursts', 'flags', 'sessions']) expect(await exported(split, kind)).toBe(await exported(join(dir, 'in-order'), kind));
  });

  it('reprocess uses the same bursts: byte-identical flags after a rebuild', async () => {
    const before = await exported(join(dir, 'in-order'), 'flags');
    const result = await runCli(['reprocess', '--from', '2026-01-05', '--to', '2026-01-09', '--yes', '--data-dir', join(dir, 'in-order'), '--config', CONFIG]);
    expect(result.code, result.stderr).toBe(0);
    expect(await exported(join(dir, 'in-order'), 'flags')).toBe(before);
  });

  it('finds no burst and flags no session without the buggy release', async () => {
    const clean = generate(false);
    const data = join(dir, 'clean');
    await ingest(data, write(dir, 'clean.ndjson', clean.lines));
    expect(await exported(data, 'bursts')).toBe('');
    const flags = parseNdjson(await exported(data, 'flags'));
    expect(flags.filter((f) => f.name === 'release_burst')).toEqual([]);
    // Retries are ~1% of events, spread out: no session is a duplicate storm.
    expect(flags.filter((f) => f.name === 'duplicate_storm')).toEqual([]);
  });
});

describe('release_burst flags the sessions that carry the bursting version in its window', () => {
  const HOUR = 3_600_000;
  const T0 = Date.UTC(2026, 0, 5, 8);
  const line = versionedLine;

  it('flags sessions with the version in the window (accepted events or rejected lines as evidence), not the others', async () => {
    const lines: string[] = [];
    // Background: 40 users on 2.3.0 over five hours, a few rejected lines among them.
    for (let u = 0; u < 40; u += 1)
      for (let i = 0; i < 30; i += 1) lines.push(line(`bg-${u}-${i}`, `bg-${u}`, T0 + u * 7 * 60_000 + i * 60_000, '2.3.0', i === 29 && u % 10 === 0 ? 'buton_clicked' : 'page_viewed'));
    // Five users upgrade to 9.9.9 at 10:00; half their clicks are rejected (a renamed event).
    for (let u = 0; u < 5; u += 1) {
      for (let i = 0; i < 6; i += 1) {
        lines.push(line(`bad-${u}-ok-${i}`, `bad-${u}`, T0 + 2 * HOUR + u * 60_000 + i * 2 * 60_000, '9.9.9'));
        lines.push(line(`bad-${u}-x-${i}`, `bad-${u}`, T0 + 2 * HOUR + u * 60_000 + i * 2 * 60_000 + 30_000, '9.9.9', 'buton_clicked'));
      }
    }
    // Someone on 9.9.9 hours later, with nothing rejected: not in the burst.
    for (let i = 0; i < 5; i += 1) lines.push(line(`later-${i}`, 'later', T0 + 6 * HOUR + i * 60_000, '9.9.9'));
    const dir = mkdtempSync(join(tmpdir(), 'jc-bursts-flag-'));
    const data = join(dir, 'data');
    await ingest(data, write(dir, 'events.ndjson', shuffled(lines, 3)));
    const bursts = parseNdjson(await exported(data, 'bursts'));
    expect(bursts).toMatchObject([{ app_version: '9.9.9', window_start: '2026-01-05T10:00:00.000Z', window_end: '2026-01-05T10:20:00.000Z', accepted: 30, rejected: 30, share: 0.5 }]);
    const flags = parseNdjson(await exported(data, 'flags')).filter((f) => f.name === 'release_burst');
    expect(flags.map((f) => f.user_id).sort()).toEqual(['bad-0', 'bad-1', 'bad-2', 'bad-3', 'bad-4']);
    const first = flags.find((f) => f.user_id === 'bad-0')!;
    expect(first.detail).toBe(
      "app 9.9.9 burst 2026-01-05 10:00–10:20 UTC (30 of 60 lines rejected, 50%; normal 0.3%): 6 of this user's lines rejected (unplanned_event 6); 6 events of that version in the window",
    );
    expect(first.evidence).toEqual([...Array.from({ length: 6 }, (_, i) => `bad-0-ok-${i}`), ...Array.from({ length: 6 }, (_, i) => `bad-0-x-${i}`)]);
  });
});
