// The HTML report figure of `npm run bench`: `journeyctl report --html` over the data directory the
// 1M-event run left, in its own process (chdb binds one directory per process). Issue 15 asks for
// a file written in a few seconds that stays under a few MB: it is built from ClickHouse aggregates
// and a bounded timeline sample, so neither should grow with the stored events.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface HtmlReportBenchResult {
  elapsedMs: number;
  cpuMs: number;
  maxRssBytes: number;
  bytes: number;
}

export function runHtmlReportBench(dataDir: string, file = join(dataDir, 'report.html')): HtmlReportBenchResult {
  const child = spawnSync(process.execPath, [join(here, 'measure-child.js'), 'report', '--html', file, '--data-dir', dataDir], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const marker = child.stderr.split('\n').find((line) => line.startsWith('BENCH_RESULT '));
  if (!marker || child.status !== 0) throw new Error(`report --html failed (exit ${child.status}):\n${child.stderr}`);
  const measured = JSON.parse(marker.slice('BENCH_RESULT '.length)) as { elapsedMs: number; cpuMs: number; maxRssBytes: number };
  return { elapsedMs: measured.elapsedMs, cpuMs: measured.cpuMs, maxRssBytes: measured.maxRssBytes, bytes: statSync(file).size };
}

export function formatHtmlReportBench(result: HtmlReportBenchResult, events: number): string {
  const seconds = result.elapsedMs / 1000;
  const mb = result.bytes / 1e6;
  return (
    `report --html on ${events.toLocaleString('en-US')} stored events: ${seconds.toFixed(1)} s wall, ${(result.cpuMs / 1000).toFixed(1)} s CPU (the command in-process, after node start), ` +
    `${(result.bytes / 1024).toFixed(0)} KiB, peak RSS ${(result.maxRssBytes / 1024 / 1024).toFixed(0)} MiB; ` +
    `target a few seconds and under a few MB (≤ 5 s, ≤ 3 MB): ${seconds <= 5 && mb <= 3 ? 'met' : 'NOT met'}`
  );
}
