// `npm run bench -- --beside-run [--events N] [--trials N] [--data-dir DIR]`: how long `export sessions` and `tail`
// take to print their first row while a `run` holds the data directory (issue 19 target: ≤ 1 s,
// without waiting for the run; ADR 0016). A first run stores the generator's file; a second run
// then stores another generator file of the same size (seed 2027: new users and lines, so it
// ingests and derives, the busiest a holder gets) from a stdin kept open (then idle but holding),
// and each trial starts a reader process and times spawn → first byte on stdout, and → exit.
// The same readers with no run beside them (each opens the directory itself) are the comparison.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../repo-root.js';
import { cachedGeneratorFile } from './generated-input.js';

const BIN = join(REPO_ROOT, 'bin', 'journeyctl.js');
// The command in a process that reports its own CPU time (user + system, all threads).
const MEASURED = join(dirname(fileURLToPath(import.meta.url)), 'measure-child.js');

interface Timing {
  firstRowMs: number;
  exitMs: number;
  cpuMs: number;
  code: number | null;
  stderr: string;
}

/** Spawn → first stdout byte, and → exit, of one journeyctl command, and the CPU it used. */
function timeCommand(args: string[]): Promise<Timing> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [MEASURED, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let firstRowMs = Number.NaN;
    let stderr = '';
    child.stdout.on('data', () => {
      if (Number.isNaN(firstRowMs)) firstRowMs = performance.now() - started;
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      const marker = stderr.split('\n').find((line) => line.startsWith('BENCH_RESULT '));
      const cpuMs = marker ? (JSON.parse(marker.slice('BENCH_RESULT '.length)) as { cpuMs: number }).cpuMs : Number.NaN;
      resolve({ firstRowMs, exitMs: performance.now() - started, cpuMs, code, stderr });
    });
  });
}

const READERS: { name: string; args: (dir: string) => string[] }[] = [
  { name: 'export sessions --limit 100', args: (dir) => ['export', 'sessions', '--limit', '100', '--data-dir', dir, '--output', 'ndjson', '--wait', '0s'] },
  { name: 'export sessions (all)', args: (dir) => ['export', 'sessions', '--data-dir', dir, '--output', 'ndjson', '--wait', '0s'] },
  { name: 'tail --limit 20', args: (dir) => ['tail', '--limit', '20', '--data-dir', dir, '--output', 'ndjson'] },
];

const median = (values: number[]) => values[Math.floor(values.length / 2)]!.toFixed(0);

/** The holder's own answer time, without a reader's start-up: `SELECT 1` over its served endpoint. */
async function probeHolder(dir: string, probes: number): Promise<void> {
  const endpoint = JSON.parse(readFileSync(join(dir, 'serving.json'), 'utf8')) as { url: string; token: string };
  const auth = `Basic ${Buffer.from(`default:${endpoint.token}`).toString('base64')}`;
  const times: number[] = [];
  for (let probe = 0; probe < probes; probe += 1) {
    const started = performance.now();
    const response = await fetch(`${endpoint.url}/?query=SELECT%201`, { headers: { Authorization: auth } });
    await response.text();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`beside a run     the holder's answer to SELECT 1: median ${median(times)} ms, max ${times.at(-1)!.toFixed(0)} ms (${probes} probes)`);
}

/**
 * Each trial runs every reader once, in turn: the run beside is busiest while it is fed its
 * input, and readers taking turns meet that phase alike, where one reader's trials run first and
 * take all of it when each reader runs its trials in a block.
 */
async function measureReaders(dir: string, trials: number, label: string, runBusy: () => boolean = () => false): Promise<void> {
  const timings: Timing[][] = READERS.map(() => []);
  // First rows of the trials started while the run beside was still being fed its input.
  const busyFirstRows: number[][] = READERS.map(() => []);
  for (let trial = 0; trial < trials; trial += 1) {
    for (const [index, reader] of READERS.entries()) {
      const busy = runBusy();
      const timing = await timeCommand(reader.args(dir));
      if (timing.code !== 0) throw new Error(`${reader.name} ${label} failed (exit ${timing.code}): ${timing.stderr}`);
      timings[index]!.push(timing);
      if (busy) busyFirstRows[index]!.push(timing.firstRowMs);
    }
  }
  for (const [index, reader] of READERS.entries()) {
    const first = timings[index]!.map((t) => t.firstRowMs).sort((a, b) => a - b);
    const exit = timings[index]!.map((t) => t.exitMs).sort((a, b) => a - b);
    const cpu = timings[index]!.map((t) => t.cpuMs).sort((a, b) => a - b);
    console.log(
      `${label.padEnd(16)} ${reader.name.padEnd(28)} first row: median ${median(first)} ms, max ${first.at(-1)!.toFixed(0)} ms; exit: median ${median(exit)} ms; reader CPU: median ${median(cpu)} ms (${trials} trials${first.some((ms) => ms > 1000) ? '' : ', all ≤ 1 s'})`,
    );
    const busy = busyFirstRows[index]!.sort((a, b) => a - b);
    if (busy.length > 0)
      console.log(`${''.padEnd(16)} ${''.padEnd(28)} of which started while the run was fed its input: median ${median(busy)} ms, max ${busy.at(-1)!.toFixed(0)} ms (${busy.length} trials)`);
  }
}

export async function runBesideRunBench(args: string[]): Promise<void> {
  const option = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  const events = option('--events', 1_000_000);
  const trials = option('--trials', 5);
  const input = await cachedGeneratorFile(events);
  // --data-dir DIR: a directory a first run already stored this file in (a bench without it
  // stores one and names it). The bench works on a copy, removed at its end, so the lines the run
  // beside stores are new in every bench of DIR.
  const given = args.includes('--data-dir') ? args[args.indexOf('--data-dir') + 1] : undefined;
  const stored = given ?? mkdtempSync(join(tmpdir(), 'journeyctl-beside-run-stored-'));
  if (!given) {
    console.log(`storing ${input} in ${stored} (a first run) …`);
    const first = spawnSync(process.execPath, [BIN, 'run', '--input', input, '--data-dir', stored, '--no-progress', '--output', 'json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (first.status !== 0) throw new Error(`the first run failed: ${first.stderr}`);
    console.log(`first run: ${first.stdout.trim()}`);
    console.log(`(a next bench can reuse it: --data-dir ${stored})`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'journeyctl-beside-run-'));
  cpSync(stored, dir, { recursive: true });
  try {
    await measureBeside(dir, events, trials);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureBeside(dir: string, events: number, trials: number): Promise<void> {
  await measureReaders(dir, trials, 'no run beside');

  // The run beside: new lines on a stdin kept open until the trials are done.
  const beside = await cachedGeneratorFile(events, 2027);
  const run = spawn(process.execPath, [BIN, 'run', '--input', '-', '--data-dir', dir, '--no-progress', '--output', 'json'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let runStderr = '';
  run.stderr.on('data', (chunk: Buffer) => (runStderr += chunk.toString()));
  const runExit = new Promise<number | null>((resolve) => run.on('exit', resolve));
  const feed = createReadStream(beside);
  feed.pipe(run.stdin, { end: false });
  let doneReading = false;
  const fed = new Promise<void>((resolve) =>
    feed.on('end', () => {
      doneReading = true;
      resolve();
    }),
  );
  while (!existsSync(join(dir, 'serving.json'))) {
    if (run.exitCode !== null) throw new Error(`the run beside exited early: ${runStderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  console.log(`run beside: holding the directory and serving it; storing ${beside} from stdin`);
  await probeHolder(dir, 20);
  await measureReaders(dir, trials, 'beside a run', () => !doneReading);
  await probeHolder(dir, 20);
  console.log(`(the run was ${doneReading ? 'fed its whole input, holding the directory' : 'still being fed its input'} when the trials ended)`);
  await fed;
  run.stdin.end();
  const code = await runExit;
  if (code !== 0) throw new Error(`the run beside failed (exit ${code}): ${runStderr}`);
  console.log('target: first rows ≤ 1000 ms beside a running run, without waiting for it');
}
