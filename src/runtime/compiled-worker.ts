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

/** Flags that name the process's own entry point (its code, its module type), with their value when it follows. */
const ENTRY_POINT_FLAGS = new Set(['-e', '--eval', '-p', '--print', '--input-type']);
const ENTRY_POINT_FLAG_WITH_VALUE = /^(--input-type|--eval|--print)=/;

/**
 * The Node flags for a worker thread, or undefined to let it inherit the process's own — which
 * is what Node does best: it copies what applies to a thread and leaves process-wide flags (V8's,
 * `--title`) to the process, where they already apply to every thread. Only a process started as
 * `node --input-type=module -e …` (journeyctl's main() run from a script) needs a list: a worker
 * refuses to inherit `--input-type`. The list is then the process's flags but those of its entry point.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] | undefined {
  if (!execArgv.some((flag) => ENTRY_POINT_FLAGS.has(flag) || ENTRY_POINT_FLAG_WITH_VALUE.test(flag))) return undefined;
  const kept: string[] = [];
  for (let index = 0; index < execArgv.length; index += 1) {
    const flag = execArgv[index]!;
    if (ENTRY_POINT_FLAGS.has(flag)) {
      if (flag !== '--input-type' || /^(module|commonjs)$/.test(execArgv[index + 1] ?? '')) index += 1; // and its value
    } else if (!ENTRY_POINT_FLAG_WITH_VALUE.test(flag)) kept.push(flag);
  }
  return kept;
}

/** The flags a worker refused, as Node names them in ERR_WORKER_INVALID_EXEC_ARGV ("…flags: --a, --b"). */
function refusedFlags(error: unknown): Set<string> | null {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return null;
  const named = /flags: (.+)$/.exec(String((error as Error).message))?.[1];
  return named ? new Set(named.split(', ')) : null;
}

/** A worker thread on a compiled module (compiledWorkerBeside), started with workerExecArgv()'s flags. */
export function startCompiledWorker(module: URL, workerData?: unknown): Worker {
  const execArgv = workerExecArgv();
  try {
    return new Worker(module, { workerData, execArgv });
  } catch (error) {
    // A listed process-wide flag (`--expose-gc`, `--max-old-space-size`) is refused in a list,
    // though it applies to the worker anyway: start it without the flags Node names.
    const refused = execArgv ? refusedFlags(error) : null;
    if (!refused) throw error;
    return new Worker(module, { workerData, execArgv: execArgv!.filter((flag) => !refused.has(flag)) });
  }
}
