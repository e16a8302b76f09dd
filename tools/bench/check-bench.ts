// The check figure of `npm run bench`: a full default check run (fixtures/checks.yaml) over the
// data directory the 1M-event run left, in its own process (chdb binds one directory per process).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../repo-root.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(REPO_ROOT, 'fixtures');

export interface CheckBenchResult {
  elapsedMs: number;
  maxRssBytes: number;
  summary: { total: number; pass: number; warn: number; fail: number };
  slowest: Array<{ name: string; ms: number }>;
}

/** Runs `journeyctl check` with the shipped defaults on a stored data directory; failing checks are fine (exit 1). */
export function runCheckBench(dataDir: string, window: { from: string; to: string } = { from: '2026-01-05', to: '2026-01-08' }): CheckBenchResult {
  const args = ['check', '--checks', join(FIXTURES, 'checks.yaml'), '--config', join(FIXTURES, 'journeyctl.yaml'), '--data-dir', dataDir, '--from', window.from, '--to', window.to, '--output', 'json'];
  const child = spawnSync(process.execPath, [join(here, 'measure-child.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const marker = child.stderr.split('\n').find((line) => line.startsWith('BENCH_RESULT '));
  if (!marker || (child.status !== 0 && child.status !== 1)) throw new Error(`check run failed (exit ${child.status}):\n${child.stderr}`);
  const measured = JSON.parse(marker.slice('BENCH_RESULT '.length)) as { elapsedMs: number; maxRssBytes: number };
  const run = JSON.parse(child.stdout) as { summary: CheckBenchResult['summary']; results: Array<{ name: string; durationMs: number }> };
  const slowest = run.results
    .map((r) => ({ name: r.name, ms: r.durationMs }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 3);
  return { elapsedMs: measured.elapsedMs, maxRssBytes: measured.maxRssBytes, summary: run.summary, slowest };
}

export function formatCheckBench(result: CheckBenchResult, events: number): string {
  const { total, pass, warn, fail } = result.summary;
  return (
    `check (fixtures/checks.yaml, ${total} checks on ${events.toLocaleString('en-US')} stored events): ${(result.elapsedMs / 1000).toFixed(1)} s, peak RSS ${(result.maxRssBytes / 1024 / 1024).toFixed(0)} MiB ` +
    `(${pass} passed, ${warn} warned, ${fail} failed; slowest ${result.slowest.map((s) => `${s.name} ${(s.ms / 1000).toFixed(1)} s`).join(', ')})`
  );
}
