// `npm run bench -- --throughput`: every issue-19 target measured in one run, on one file (the
// generator's --events lines, seed 2026, cached in ~/.cache/journeyctl-bench/), printed as a table
// and written as JSON for the closing note. Each command runs in its own process under
// /usr/bin/time, so its figures are the whole process (start-up, every thread, chdb included).
//   --events N             lines of the generated file (default 1,000,000)
//   --raw-engine NAME      stores.raw.engine of the measured data directory (default: the config
//                          default); any registered engine with no settings of its own (sqlite, chdb)
//   --derivation-engine js|sql   derivation.engine of the measured data directory (default: js)
//   --config FILE          a journeyctl.yaml for every command instead (a server engine's URLs)
//   --4m                   also run on a file 4× as large (long): its rate within 15% of the 1M rate
//   --json FILE            where the figures go (default ~/.cache/journeyctl-bench/throughput-<engine>.json)
// The rows: (1) `run` end to end on a fresh data directory; (2) the SQL-only sessionization of the
// same file in chdb (sql-baseline.ts) and the ratio of the two throughputs; (3) the same file
// again into the same data directory (rows added must be 0); (4) `reprocess` of the busiest day;
// (5) with --4m, the large file. Kafka figures: `npm run bench -- --kafka` (kafka-bench.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedGeneratorFile } from './generated-input.js';

const here = dirname(fileURLToPath(import.meta.url));
const TIME = '/usr/bin/time';

/** One child process, measured from outside: wall and CPU seconds, peak RSS, its stdout. */
export interface Measured {
  wallS: number;
  /** user + system seconds of the process and every thread (and waited-for child) of it. */
  cpuS: number;
  peakRssMiB: number;
  stdout: string;
}

/** Runs `node script ...args` under /usr/bin/time (or, without it, the child's own resourceUsage via measure-child). */
export function measureProcess(script: string, args: readonly string[], okCodes: readonly number[] = [0]): Measured {
  const node = [process.execPath, script, ...args];
  const timed = existsSync(TIME);
  const started = performance.now();
  const child = spawnSync(timed ? TIME : node[0]!, timed ? ['-f', 'TIME_RESULT %e %U %S %M', ...node] : node.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28 });
  const wallMs = performance.now() - started;
  if (child.status === null || !okCodes.includes(child.status)) throw new Error(`${args[0] ?? script} failed (exit ${child.status}):\n${child.stderr.slice(-4000)}`);
  const lines = child.stderr.split('\n');
  const time = lines.find((line) => line.startsWith('TIME_RESULT '));
  if (time) {
    const [wall, user, system, rssKiB] = time.split(' ').slice(1).map(Number) as [number, number, number, number];
    return { wallS: wall, cpuS: user + system, peakRssMiB: rssKiB / 1024, stdout: child.stdout };
  }
  const marker = lines.find((line) => line.startsWith('BENCH_RESULT '));
  const own = marker ? (JSON.parse(marker.slice('BENCH_RESULT '.length)) as { cpuMs: number; maxRssBytes: number }) : { cpuMs: NaN, maxRssBytes: NaN };
  return { wallS: wallMs / 1000, cpuS: own.cpuMs / 1000, peakRssMiB: own.maxRssBytes / 1024 / 1024, stdout: child.stdout };
}

const journeyctl = (args: readonly string[], okCodes?: readonly number[]) => measureProcess(join(here, 'measure-child.js'), args, okCodes);

interface StoreContents {
  counts: { events: number; rejected: number; copies: number };
  perDay: Array<{ day: string; activity: number; identity: number }>;
}

function storeContents(storeArgs: readonly string[]): StoreContents {
  const child = spawnSync(process.execPath, [join(here, 'store-counts-child.js'), ...storeArgs], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`reading the store's counts failed:\n${child.stderr.slice(-4000)}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as StoreContents;
}

export interface ThroughputRow {
  name: string;
  lines: number;
  wallS: number;
  cpuS: number;
  peakRssMiB: number;
  eventsPerS: number;
  /** CPU seconds per million lines. */
  cpuSPerMillion: number;
  note: string;
}

export interface ThroughputTarget {
  target: string;
  measured: string;
  met: boolean;
}

export interface ThroughputResult {
  at: string;
  node: string;
  /** 1, 5 and 15-minute load averages at the start and at the end. */
  loadAverage: number[];
  loadAverageAtEnd: number[];
  rawEngine: string;
  input: string;
  lines: number;
  rows: ThroughputRow[];
  targets: ThroughputTarget[];
}

function row(name: string, lines: number, measured: Measured, note = ''): ThroughputRow {
  return {
    name,
    lines,
    wallS: round(measured.wallS, 2),
    cpuS: round(measured.cpuS, 2),
    peakRssMiB: Math.round(measured.peakRssMiB),
    eventsPerS: Math.round(lines / measured.wallS),
    cpuSPerMillion: round((measured.cpuS * 1_000_000) / lines, 2),
    note,
  };
}

export async function runThroughputBench(args: readonly string[]): Promise<ThroughputResult> {
  const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const events = Number(option('--events') ?? 1_000_000);
  const rawEngine = option('--raw-engine');
  const derivationEngine = option('--derivation-engine');
  const engineYaml = [rawEngine ? `stores:\n  raw: { engine: ${rawEngine} }\n` : '', derivationEngine ? `derivation: { engine: ${derivationEngine} }\n` : ''].join('');
  const work = mkdtempSync(join(tmpdir(), 'journeyctl-throughput-'));
  try {
    const input = await cachedGeneratorFile(events);
    const configPath = option('--config') ?? (engineYaml ? join(work, 'journeyctl.yaml') : undefined);
    if (engineYaml && !option('--config')) writeFileSync(configPath!, engineYaml);
    const storeArgs = (dataDir: string) => ['--data-dir', dataDir, ...(configPath ? ['--config', configPath] : [])];
    const runArgs = (file: string, dataDir: string) => ['run', '--input', file, ...storeArgs(dataDir), '--output', 'json', '--no-progress'];
    const engine = option('--config') ? `config ${option('--config')}` : `raw ${rawEngine ?? 'default'}, derivation ${derivationEngine ?? 'default'}`;
    const loadBefore = loadavg().map((load) => round(load, 1));
    console.log(`journeyctl bench --throughput — ${input}, ${engine}, Node ${process.version}, load ${loadBefore.join(' ')}`);
    const rows: ThroughputRow[] = [];
    const note = (text: string) => console.error(`  ${text}`);

    const data = join(work, 'data');
    note('run (fresh data directory) …');
    const first = journeyctl(runArgs(input, data));
    const firstSummary = JSON.parse(first.stdout) as { events_read: number; accepted: number; sessions_written: number };
    const lines = firstSummary.events_read;
    const stored = storeContents(storeArgs(data));
    rows.push(row('run, end to end', lines, first, `${firstSummary.accepted.toLocaleString('en-US')} accepted, ${firstSummary.sessions_written.toLocaleString('en-US')} sessions`));

    note('SQL-only sessionization in chdb …');
    const sql = measureProcess(join(here, 'sql-baseline.js'), [input]);
    const sqlOut = JSON.parse(sql.stdout.trim().split('\n').pop()!) as { elapsedMs: number; sessions: number };
    rows.push(row('SQL-only baseline (chdb)', lines, sql, `${sqlOut.sessions.toLocaleString('en-US')} sessions; query alone ${(sqlOut.elapsedMs / 1000).toFixed(1)} s`));

    note('re-ingest of the same file …');
    const again = journeyctl(runArgs(input, data));
    const after = storeContents(storeArgs(data));
    const added = after.counts.events - stored.counts.events + (after.counts.rejected - stored.counts.rejected) + (after.counts.copies - stored.counts.copies);
    rows.push(
      row(
        're-ingest, same file',
        lines,
        again,
        `rows added ${added} (events ${after.counts.events - stored.counts.events}, rejected ${after.counts.rejected - stored.counts.rejected}, copies ${after.counts.copies - stored.counts.copies})`,
      ),
    );

    const busiest = [...stored.perDay].sort((a, b) => b.activity + b.identity - (a.activity + a.identity))[0];
    let reprocessRow: ThroughputRow | null = null;
    if (busiest) {
      const dayEvents = busiest.activity + busiest.identity;
      const next = new Date(Date.parse(`${busiest.day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      note(`reprocess of ${busiest.day} …`);
      const reprocess = journeyctl(['reprocess', '--from', busiest.day, '--to', next, ...storeArgs(data), '--yes', '--output', 'json']);
      reprocessRow = row(`reprocess of one day (${busiest.day})`, dayEvents, reprocess, `${dayEvents.toLocaleString('en-US')} events of that day (the busiest)`);
      rows.push(reprocessRow);
    }

    let big: ThroughputRow | null = null;
    if (args.includes('--4m')) {
      const bigInput = await cachedGeneratorFile(events * 4);
      note('run on the 4× file …');
      rmSync(data, { recursive: true, force: true });
      const bigRun = journeyctl(runArgs(bigInput, join(work, 'data-4x')));
      big = row('run, end to end, 4× file', (JSON.parse(bigRun.stdout) as { events_read: number }).events_read, bigRun);
      rows.push(big);
    }

    const [ours, baseline, reingest] = rows as [ThroughputRow, ThroughputRow, ThroughputRow];
    const ratio = ours.eventsPerS / baseline.eventsPerS;
    const cpuRatio = baseline.cpuS / ours.cpuS;
    const targets: ThroughputTarget[] = [
      { target: 'run ≥ 100,000 events/s', measured: `${ours.eventsPerS.toLocaleString('en-US')} events/s`, met: ours.eventsPerS >= 100_000 },
      { target: 'run ≥ 0.25× the SQL-only baseline', measured: `${ratio.toFixed(3)}× by wall time (${cpuRatio.toFixed(3)}× by CPU-s)`, met: ratio >= 0.25 },
      { target: 'peak RSS ≤ 1 GiB', measured: `${ours.peakRssMiB} MiB`, met: ours.peakRssMiB <= 1024 },
      { target: 're-ingest ≥ 200,000 events/s', measured: `${reingest.eventsPerS.toLocaleString('en-US')} events/s`, met: reingest.eventsPerS >= 200_000 },
      { target: 're-ingest adds 0 rows', measured: `${added} rows`, met: added === 0 },
    ];
    if (reprocessRow)
      targets.push({
        target: 'reprocess of a day ≥ the run rate',
        measured: `${reprocessRow.eventsPerS.toLocaleString('en-US')} vs ${ours.eventsPerS.toLocaleString('en-US')} events/s`,
        met: reprocessRow.eventsPerS >= ours.eventsPerS,
      });
    if (big) {
      const change = big.eventsPerS / ours.eventsPerS - 1;
      targets.push({ target: '4× file within 15% of the 1× rate', measured: `${(change * 100).toFixed(1)}% (peak RSS ${big.peakRssMiB} vs ${ours.peakRssMiB} MiB)`, met: Math.abs(change) <= 0.15 });
    }
    const loadAfter = loadavg().map((load) => round(load, 1));
    const result: ThroughputResult = { at: new Date().toISOString(), node: process.version, loadAverage: loadBefore, loadAverageAtEnd: loadAfter, rawEngine: engine, input, lines, rows, targets };
    console.log(formatThroughput(result));
    const jsonPath = option('--json') ?? join(homedir(), '.cache', 'journeyctl-bench', `throughput-${rawEngine ?? 'default'}-${derivationEngine ?? 'default'}.json`.replace(/[^\w.-]/g, '_'));
    mkdirSync(dirname(jsonPath), { recursive: true });
    writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`figures written to ${jsonPath}`);
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function formatThroughput(result: ThroughputResult): string {
  const header = ['', 'lines', 'wall s', 'events/s', 'CPU s', 'CPU s/M', 'peak RSS MiB', ''];
  const cells = result.rows.map((r) => [
    r.name,
    r.lines.toLocaleString('en-US'),
    r.wallS.toFixed(1),
    r.eventsPerS.toLocaleString('en-US'),
    r.cpuS.toFixed(1),
    r.cpuSPerMillion.toFixed(1),
    String(r.peakRssMiB),
    r.note,
  ]);
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => (i === 0 || i === c.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    ...cells.map(line),
    '',
    ...result.targets.map((t) => `${t.met ? 'met    ' : 'NOT met'}  ${t.target}: ${t.measured}`),
    `load average at start ${result.loadAverage.join(' ')}, at end ${result.loadAverageAtEnd.join(' ')} (2 cores): wall figures include the queue; CPU s are the steadier figure`,
  ].join('\n');
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
