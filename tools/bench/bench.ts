// `npm run bench`: speed and memory figures, printed, never asserted in unit tests.
//   npm run bench                 1M events end to end, the SQL baseline, and a 4M run for the streaming check
//   npm run bench -- --events N   another size; --no-4m skips the streaming check, --no-reprocess the reprocess figure,
//                                 --no-floors the storage floors (storage-floor.ts); the 1M store also times
//                                 check and report --html (check-bench.ts, html-report-bench.ts)
//   npm run bench -- --stages     CPU-s and wall-s per million lines of each stage of run (stage-bench.ts)
//   npm run bench -- --sql-line-stage  the per-line stages in ClickHouse SQL against the JS stages, CPU-s per million
//                                 lines (sql-line-stage-bench.ts, ADR 0029)
//   npm run bench -- --throughput every issue-19 target on one cached file: run, SQL baseline, re-ingest, reprocess of a
//                                 day [--4m] [--raw-engine NAME] [--json FILE] (throughput-bench.ts)
//   npm run bench -- --kafka      Kafka → MongoDB + ClickHouse beside a plain consumer (kafka-bench.ts)
//   npm run bench -- --tail-stop  Ctrl-C latency of tail --follow on a terminal beside a writing run (tail-stop-bench.ts)
//   npm run bench -- --beside-run first-row latency of export and tail while a run holds the data directory
//                                 [--events N] [--trials N] [--data-dir DIR, already stored; copied] (beside-run-bench.ts)
//   npm run bench -- --startup    only the start-up figures (startup-bench.ts; also the first section of every run,
//                                 unless --no-startup);
//                                 --bin PATH measures another build's bin/journeyctl.js
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generated-input.js';
import { benchReprocess, formatReprocessBench } from './reprocess-bench.js';
import { formatCheckBench, runCheckBench } from './check-bench.js';
import { formatHtmlReportBench, runHtmlReportBench } from './html-report-bench.js';
import { runStorageFloors } from './storage-floor.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string, fallback: number) => {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
if (flag('--tail-stop')) {
  // Ctrl-C latency of tail --follow on a terminal beside a writing run (tail-stop-bench.ts).
  await (await import('./tail-stop-bench.js')).runTailStopBench(args);
  process.exit();
}
if (flag('--beside-run')) {
  // First rows of export and tail while a run holds the directory (beside-run-bench.ts).
  await (await import('./beside-run-bench.js')).runBesideRunBench(args);
  process.exit();
}
if (flag('--startup')) {
  const { formatStartupBench, runStartupBench } = await import('./startup-bench.js');
  console.log(formatStartupBench(runStartupBench(args), args.includes('--bin') ? args[args.indexOf('--bin') + 1] : undefined));
  process.exit();
}
if (flag('--stages')) {
  // CPU and wall seconds per million lines of each stage of run, measured alone (stage-bench.ts).
  await (await import('./stage-bench.js')).runStageBench(args);
  process.exit();
}
if (flag('--sql-line-stage')) {
  // The per-line stages in SQL against the JS ones, on one file (sql-line-stage-bench.ts).
  await (await import('./sql-line-stage-bench.js')).runSqlLineStageBench(args);
  process.exit();
}
if (flag('--throughput')) {
  // Every issue-19 target in one run on one file, as a table and JSON (throughput-bench.ts).
  await (await import('./throughput-bench.js')).runThroughputBench(args);
  process.exit();
}
if (flag('--kafka')) {
  // Kafka into the server stores, beside a plain consumer: its own file and flags (see kafka-bench.ts).
  await (await import('./kafka-bench.js')).runKafkaBench(args);
  process.exit();
}
const events = value('--events', 1_000_000);
const work = mkdtempSync(join(tmpdir(), 'journeyctl-bench-'));

interface ChildResult {
  code: number;
  elapsedMs: number;
  maxRssBytes: number;
}

function runPipeline(input: string, dataDir: string): ChildResult & { summary: Record<string, unknown> } {
  const child = spawnSync(process.execPath, [join(here, 'measure-child.js'), 'run', '--input', input, '--data-dir', dataDir, '--output', 'json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const marker = child.stderr.split('\n').find((line) => line.startsWith('BENCH_RESULT '));
  if (!marker || child.status !== 0) throw new Error(`pipeline run failed (exit ${child.status}):\n${child.stderr}`);
  return { ...(JSON.parse(marker.slice('BENCH_RESULT '.length)) as ChildResult), summary: JSON.parse(child.stdout) as Record<string, unknown> };
}

function runSqlBaseline(input: string): { elapsedMs: number; events: number; sessions: number; maxRssBytes: number } {
  const child = spawnSync(process.execPath, [join(here, 'sql-baseline.js'), input], { encoding: 'utf8', cwd: work });
  if (child.status !== 0) throw new Error(`SQL baseline failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as { elapsedMs: number; events: number; sessions: number; maxRssBytes: number };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const rate = (count: number, ms: number) => Math.round(count / (ms / 1000));

try {
  console.log(`journeyctl bench — ${events.toLocaleString('en-US')} generated events, Node ${process.version}, work dir ${work}`);
  if (!flag('--no-startup')) {
    const { formatStartupBench, runStartupBench } = await import('./startup-bench.js');
    console.log(formatStartupBench(runStartupBench(args)));
  }
  const file = join(work, 'events.ndjson');
  const generated = await generate(events, file);
  console.log(`generated ${generated.lines.toLocaleString('en-US')} lines (${mib(generated.bytes)}) in ${generated.seconds.toFixed(1)} s`);

  const ours = runPipeline(file, join(work, 'data-1m'));
  const oursRate = rate(generated.lines, ours.elapsedMs);
  console.log(`run (end to end, embedded): ${(ours.elapsedMs / 1000).toFixed(1)} s, ${oursRate.toLocaleString('en-US')} events/s, peak RSS ${mib(ours.maxRssBytes)}`);
  console.log(`  summary: ${JSON.stringify(ours.summary)}`);
  console.log(formatCheckBench(runCheckBench(join(work, 'data-1m')), generated.lines));
  console.log(formatHtmlReportBench(runHtmlReportBench(join(work, 'data-1m')), generated.lines));

  const sql = runSqlBaseline(file);
  const sqlRate = rate(generated.lines, sql.elapsedMs);
  console.log(`SQL-only sessionization in chdb: ${(sql.elapsedMs / 1000).toFixed(1)} s, ${sqlRate.toLocaleString('en-US')} events/s (${sql.sessions.toLocaleString('en-US')} sessions)`);
  console.log(`ratio ours/SQL-baseline (throughput): ${(oursRate / sqlRate).toFixed(2)}   target ≥ 0.25`);
  console.log(`end-to-end target ≥ 100,000 events/s: ${oursRate >= 100_000 ? 'met' : 'NOT met'}; peak RSS target ≤ 1 GiB: ${ours.maxRssBytes <= 1 << 30 ? 'met' : 'NOT met'}`);
  if (!flag('--no-floors')) runStorageFloors(file, { events: generated.lines, elapsedMs: ours.elapsedMs });
  if (!flag('--no-reprocess')) console.log(formatReprocessBench(await benchReprocess(Math.min(events, 250_000))));

  if (!flag('--no-4m')) {
    const bigFile = join(work, 'events-4x.ndjson');
    const big = await generate(events * 4, bigFile);
    rmSync(file, { force: true });
    const bigRun = runPipeline(bigFile, join(work, 'data-4m'));
    const growth = bigRun.maxRssBytes / ours.maxRssBytes - 1;
    console.log(
      `run at ${big.lines.toLocaleString('en-US')} events: ${(bigRun.elapsedMs / 1000).toFixed(1)} s, ${rate(big.lines, bigRun.elapsedMs).toLocaleString('en-US')} events/s, peak RSS ${mib(bigRun.maxRssBytes)} (${(growth * 100).toFixed(1)}% vs 1x; target within 15%)`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
