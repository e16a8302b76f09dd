import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with captured streams (no TTY, like a pipe in CI). */
export async function runCli(args: string[], options: { stdin?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const stdin = Readable.from(options.stdin === undefined ? [] : [options.stdin]);
  // JOURNEY_RAW_ENGINE=chdb npx vitest run … runs a suite's commands on another raw engine.
  const code = await main(['node', 'journeyctl', ...args], { stdout, stderr, stdin, env: { JOURNEY_RAW_ENGINE: process.env['JOURNEY_RAW_ENGINE'], ...options.env } });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

export function parseNdjson(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export interface SpawnedCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** The built CLI in its own process (as a Deployment or CronJob runs it), its output captured; env is all it gets besides PATH. */
export function spawnCli(args: string[], env: Record<string, string | undefined> = {}): SpawnedCli {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'journeyctl.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => setImmediate(() => resolve({ code, signal, stdout, stderr }))),
  );
  return { child, exit, stdout: () => stdout, stderr: () => stderr };
}

/** SIGKILLs the process as soon as its stderr matches `said` (the crash tests' kill point); resolves with its exit either way. */
export async function killWhenSaid(spawned: SpawnedCli, said: RegExp): SpawnedCli['exit'] {
  await new Promise<void>((resolve) => {
    spawned.child.stderr!.on('data', () => {
      if (said.test(spawned.stderr())) {
        spawned.child.kill('SIGKILL');
        resolve();
      }
    });
    spawned.child.on('exit', () => resolve());
  });
  return spawned.exit;
}
