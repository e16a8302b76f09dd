import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * A worker thread's compiled module `file`, beside the module at `base` (its import.meta.url);
 * null when absent: running from TypeScript sources (tests), where the work stays on the caller's thread.
 */
export function compiledWorkerBeside(file: string, base: string): URL | null {
  const url = new URL(file, base);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : null;
}

/** Flags that name the process's own entry point (its code, its module type): a worker refuses them. */
const ENTRY_POINT_FLAGS = new Set(['-e', '--eval', '-p', '--print']);

/**
 * The Node flags for a worker thread: the process's own, but those of its entry point. A worker
 * inherits them all by default, and refuses `--input-type`, so every worker of a process started
 * as `node --input-type=module -e …` (journeyctl's main() run from a script) failed.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let index = 0; index < execArgv.length; index += 1) {
    const flag = execArgv[index]!;
    if (ENTRY_POINT_FLAGS.has(flag))
      index += 1; // and its code
    else if (!/^(--input-type|--eval|--print)(=|$)/.test(flag)) kept.push(flag);
  }
  return kept;
}

/** A worker thread on a compiled module (compiledWorkerBeside), started with workerExecArgv()'s flags. */
export function startCompiledWorker(module: URL, workerData?: unknown): Worker {
  return new Worker(module, { workerData, execArgv: workerExecArgv() });
}
