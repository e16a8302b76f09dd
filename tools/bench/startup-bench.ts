// Start-up of the commands an on-call engineer runs dozens of times, each in a fresh process as a
// person runs it (`node bin/journeyctl.js …`), wall time, median of several runs:
//   --version, --help                       target ≤ 0.3 s
//   explain <id>, export sessions --limit 10 target ≤ 1 s beyond chdb's own open (chdb-open-child.ts:
//                                           load chdb, open the demo store, one count, close)
// on the demo's store (`journeyctl demo --data-dir`). `--bin PATH` measures another build's
// bin/journeyctl.js (e.g. an older commit's) with the same store.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../repo-root.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO_BIN = join(REPO_ROOT, 'bin', 'journeyctl.js');
const RUNS = 5;

interface Timing {
  label: string;
  medianMs: number;
  target?: string;
  ok?: boolean;
}

function wall(args: string[], options: { bin?: string; shell?: string } = {}): number {
  const started = performance.now();
  const child = options.shell
    ? spawnSync('bash', ['-o', 'pipefail', '-c', options.shell], { encoding: 'utf8', maxBuffer: 1 << 26 })
    : spawnSync(process.execPath, [options.bin ?? REPO_BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const elapsed = performance.now() - started;
  if (child.status !== 0) throw new Error(`${options.shell ?? args.join(' ')} exited ${child.status}: ${child.stderr}`);
  return elapsed;
}

function median(run: () => number): number {
  run(); // warm the file cache once; then measure
  const times = Array.from({ length: RUNS }, run).sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)]!;
}

export function runStartupBench(args: string[]): Timing[] {
  const index = args.indexOf('--bin');
  const bin = index >= 0 ? args[index + 1]! : REPO_BIN;
  const dataDir = join(mkdtempSync(join(tmpdir(), 'journeyctl-startup-')), 'demo');
  try {
    wall(['--data-dir', dataDir, 'demo']); // the demo store (the repository's build writes it)
    const sessions = spawnSync(process.execPath, [REPO_BIN, 'export', 'sessions', '--data-dir', dataDir, '--output', 'ndjson'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const sessionId = (JSON.parse(sessions.stdout.split('\n')[0]!) as { session_id: string }).session_id;
    const help = spawnSync(process.execPath, [bin, 'export', '--help'], { encoding: 'utf8' }).stdout;
    const limit = help.includes('--limit');

    const chdbOpen = median(() => wall([join(dataDir, 'analytics')], { bin: join(here, 'chdb-open-child.js') }));
    const timings: Timing[] = [];
    const quick = (label: string, commandArgs: string[]) => {
      const ms = median(() => wall(commandArgs, { bin }));
      timings.push({ label, medianMs: ms, target: '≤ 300 ms', ok: ms <= 300 });
    };
    const analytics = (label: string, measure: () => number) => {
      const ms = median(measure);
      timings.push({ label, medianMs: ms, target: `≤ chdb open (${Math.round(chdbOpen)} ms) + 1000 ms`, ok: ms - chdbOpen <= 1000 });
    };
    quick('journeyctl --version', ['--version']);
    quick('journeyctl --help', ['--help']);
    timings.push({ label: "chdb's own open (load chdb, open the demo store, one count, close)", medianMs: chdbOpen });
    analytics(`journeyctl explain <id>`, () => wall(['explain', sessionId, '--data-dir', dataDir, '--output', 'json'], { bin }));
    analytics(
      limit ? 'journeyctl export sessions --limit 10' : 'journeyctl export sessions | head -n 10',
      limit
        ? () => wall(['export', 'sessions', '--limit', '10', '--data-dir', dataDir, '--output', 'ndjson'], { bin })
        : () => wall([], { shell: `node ${JSON.stringify(bin)} export sessions --data-dir ${JSON.stringify(dataDir)} --output ndjson | head -n 10 > /dev/null` }),
    );
    return timings;
  } finally {
    rmSync(dirname(dataDir), { recursive: true, force: true });
  }
}

export function formatStartupBench(timings: Timing[], bin = REPO_BIN): string {
  const lines = [`start-up (${bin}; wall time, median of ${RUNS} fresh processes):`];
  for (const t of timings) {
    lines.push(`  ${t.label.padEnd(44)} ${`${Math.round(t.medianMs)} ms`.padStart(8)}${t.target ? `  target ${t.target}: ${t.ok ? 'ok' : 'MISSED'}` : ''}`);
  }
  return lines.join('\n');
}
