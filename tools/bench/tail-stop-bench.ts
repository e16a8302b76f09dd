// `npm run bench -- --tail-stop`: how long Ctrl-C takes to stop `tail --follow` on a terminal
// while a `run` keeps writing beside it and the tail starts behind (issue 13: it once took 111 s).
// The tail runs on a pseudo-terminal (util-linux `script`); Ctrl-C is the byte 0x03 typed on it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEvents } from '../generator/generate.js';
import { REPO_ROOT } from '../repo-root.js';

const BIN = join(REPO_ROOT, 'bin', 'journeyctl.js');

export async function runTailStopBench(args: string[]): Promise<void> {
  const index = args.indexOf('--trials');
  const trials = index >= 0 ? Number(args[index + 1]) : 5;
  const dir = mkdtempSync(join(tmpdir(), 'journeyctl-tail-stop-'));
  const lines = [...generateEvents({ users: 1_500, seed: 11, includeUsers: false, maxListedIds: 0 })];
  const backlog = Math.floor(lines.length / 2);
  writeFileSync(join(dir, 'backlog.ndjson'), `${lines.slice(0, backlog).join('\n')}\n`);
  const first = spawnSync(process.execPath, [BIN, 'run', '--input', join(dir, 'backlog.ndjson'), '--data-dir', dir, '--no-progress'], { encoding: 'utf8' });
  if (first.status !== 0) throw new Error(first.stderr);
  // The writer beside the tail: the rest of the events on a stdin that stays open.
  const writer = spawn(process.execPath, [BIN, 'run', '--input', '-', '--data-dir', dir, '--no-progress'], { stdio: ['pipe', 'ignore', 'ignore'] });
  let next = backlog;
  const feed = setInterval(() => {
    if (next < lines.length) writer.stdin.write(`${lines.slice(next, (next += 2_000)).join('\n')}\n`);
  }, 200);
  const latencies: number[] = [];
  try {
    for (let trial = 0; trial < trials; trial += 1) {
      const command = [process.execPath, BIN, 'tail', '--follow', '--from', 'beginning', '--data-dir', dir].map((arg) => `'${arg}'`).join(' ');
      const child = spawn('script', ['-qefc', command, '/dev/null'], { env: { ...process.env, COLUMNS: '160', LINES: '40' }, stdio: ['pipe', 'pipe', 'ignore'] });
      let screen = '';
      child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      // Pressed while the status line says the tail is behind (or, if it never is, 15 s after it started).
      const giveUp = performance.now() + 15_000;
      while (!/\d+ behind/.test(screen) && performance.now() < giveUp) await new Promise((resolve) => setTimeout(resolve, 20));
      const behind = /(\d+) behind/.exec(screen)?.[1] ?? '0';
      const pressed = performance.now();
      child.stdin.write('\x03');
      const code = await exited;
      latencies.push(performance.now() - pressed);
      console.log(`tail --follow Ctrl-C: exit ${code} after ${latencies.at(-1)!.toFixed(0)} ms (status showed ${behind} behind)`);
    }
  } finally {
    clearInterval(feed);
    writer.stdin.end();
  }
  latencies.sort((a, b) => a - b);
  console.log(`tail --follow Ctrl-C over ${trials} trials: median ${latencies[Math.floor(trials / 2)]!.toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms (target ≤ 1000 ms)`);
}
