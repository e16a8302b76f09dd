import type { Worker } from 'node:worker_threads';
import { compiledWorkerBeside, startCompiledWorker } from '../../../runtime/compiled-worker.js';
import type { ChdbHttpServer } from './chdb-http-server.js';
import type { ServedOptions, ServingReply, ServingRequest } from './serving-messages.js';

/**
 * The holder of a data directory serves it from a thread of its own (docs/decisions/0016, "Served
 * from a thread"): on the holder's main thread a reader's query waited for whatever that thread
 * was doing — an ingest's write group, a WAL checkpoint, a garbage collection — up to 6 s beside
 * a `run`. One thread per process, started with the first server and never stopped before the
 * process ends: chdb closes every connection of the process when a thread that loaded it ends.
 */
interface ServingThread {
  worker: Worker;
  waiting: Map<number, (reply: ServingReply) => void>;
  logs: Map<number, (message: string) => void>;
}

let thread: ServingThread | null = null;
/** The thread could not start (e.g. a worker refuses the process's exec flags, as --input-type): callers serve on their own thread. */
let cannotStart = false;
let nextId = 1;

/**
 * Serves `options.path` on the serving thread; null where that thread cannot run (TypeScript
 * sources in tests, or a thread that could not start): the caller serves on its own thread instead.
 */
export async function startChdbHttpServerOnThread(
  options: ServedOptions & { log?: (message: string) => void },
  module: URL | null = compiledWorkerBeside('./serving-worker.js', import.meta.url),
): Promise<ChdbHttpServer | null> {
  if (module === null || cannotStart) return null;
  const serving = servingThread(module);
  const id = nextId++;
  const { log, ...served } = options;
  if (log) serving.logs.set(id, log);
  const started = await ask(serving, { type: 'start', id, options: served });
  if (started.type === 'not-started') return null;
  if (started.type !== 'started') {
    serving.logs.delete(id);
    throw new Error(started.type === 'failed' ? started.message : `unexpected answer ${started.type}`);
  }
  let closing: Promise<void> | null = null;
  return {
    url: started.url,
    host: started.host,
    port: started.port,
    engineVersion: started.engineVersion,
    engineTimezone: started.engineTimezone,
    close() {
      closing ??= ask(serving, { type: 'close', id }).then(() => {
        serving.logs.delete(id);
      });
      return closing;
    },
  };
}

/** A request to the thread; the process stays alive until its answer (the thread itself never keeps it alive). */
function ask(serving: ServingThread, request: ServingRequest): Promise<ServingReply> {
  return new Promise((resolve) => {
    serving.waiting.set(request.id, resolve);
    serving.worker.ref();
    serving.worker.postMessage(request);
  });
}

function servingThread(module: URL): ServingThread {
  if (thread) return thread;
  const worker = startCompiledWorker(module);
  const started: ServingThread = { worker, waiting: new Map(), logs: new Map() };
  let running = false;
  worker.on('message', (reply: ServingReply) => {
    if (reply.type === 'running') {
      running = true;
      return;
    }
    if (reply.type === 'log') {
      for (const [id, log] of started.logs) if (reply.id === null || reply.id === id) log(reply.message);
      return;
    }
    const answer = started.waiting.get(reply.id);
    started.waiting.delete(reply.id);
    if (started.waiting.size === 0) worker.unref();
    answer?.(reply);
  });
  const lost = (reason: string) => {
    if (!running) {
      // It ended before its own code ran, so before chdb loaded in it: nothing of the engine went with it.
      if (thread !== started) return;
      thread = null;
      cannotStart = true;
      for (const [id, answer] of started.waiting) answer({ type: 'not-started', id, reason });
      started.waiting.clear();
      return;
    }
    // chdb closed this process's connections with the thread: its queries would never return.
    // What was stored is durable (as after a SIGKILL); stop rather than hang.
    process.stderr.write(
      `journeyctl: the thread serving the embedded store to other processes stopped (${reason}); the store's engine closed with it, so this process stops too. What it stored is safe: run the command again.\n`,
    );
    process.exit(3);
  };
  worker.on('error', (error) => lost(error.message));
  worker.on('exit', (code) => lost(`exit code ${code}`));
  // Never what keeps the process alive, but while a request waits for it (ask); it ends with the process (see above).
  worker.unref();
  thread = started;
  return started;
}
