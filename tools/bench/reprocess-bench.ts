// Reprocess throughput for one day of generated data, beside `run` on the same events.
// Each command runs in its own process (measure-child.js), so figures are the command alone.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateEvents, usersForEvents } from '../generator/generate.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface ReprocessBenchResult {
  events: number;
  runSeconds: number;
  reprocessSeconds: number;
}

function measure(args: string[]): { elapsedMs: number; stdout: string } {
  const child = spawnSync(process.execPath, [join(here, 'measure-child.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const marker = child.stderr.split('\n').find((line) => line.startsWith('BENCH_RESULT '));
  if (!marker || child.status !== 0) throw new Error(`${args[0]} failed (exit ${child.status}):\n${child.stderr}`);
  return { elapsedMs: (JSON.parse(marker.slice('BENCH_RESULT '.length)) as { elapsedMs: number }).elapsedMs, stdout: child.stdout };
}

/** Generates `events` lines spread over one day, ingests them, then reprocesses that day. */
export async function benchReprocess(events: number): Promise<ReprocessBenchResult> {
  const work = mkdtempSync(join(tmpdir(), 'journeyctl-bench-reprocess-'));
  try {
    const input = join(work, 'day.ndjson');
    const out = createWriteStream(input);
    let lines = 0;
    for (const line of generateEvents({ users: usersForEvents(events), seed: 'one-day', days: 1, start: '2026-01-05T00:00:00.000Z', includeUsers: false, maxListedIds: 0 })) {
      lines += 1;
      if (!out.write(`${line}\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const dataDir = join(work, 'data');
    const run = measure(['run', '--input', input, '--data-dir', dataDir, '--output', 'json']);
    const accepted = Number((JSON.parse(run.stdout) as { accepted: number }).accepted);
    const reprocess = measure(['reprocess', '--from', '2026-01-05', '--to', '2026-01-06', '--data-dir', dataDir, '--yes', '--output', 'json']);
    return { events: accepted || lines, runSeconds: run.elapsedMs / 1000, reprocessSeconds: reprocess.elapsedMs / 1000 };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function formatReprocessBench(result: ReprocessBenchResult): string {
  const rate = (seconds: number) => Math.round(result.events / seconds).toLocaleString('en-US');
  return `reprocess of one day (${result.events.toLocaleString('en-US')} events): ${result.reprocessSeconds.toFixed(1)} s, ${rate(result.reprocessSeconds)} events/s; run on the same events: ${result.runSeconds.toFixed(1)} s, ${rate(result.runSeconds)} events/s`;
}
