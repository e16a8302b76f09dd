// A process holding a chdb directory that serves it on the serving thread
// (src/stores/clickhouse/serve/serving-thread.ts) while its own thread is blocked, as a holder's
// is during a write group. Prints one JSON line; exits by itself with the thread still there.
//
//   node test/harness/serving-thread-child.mjs DIR
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/stores/clickhouse/serve');
const { startChdbHttpServerOnThread } = await import(path.join(dist, 'serving-thread.js'));
const { Session } = await import('chdb');

const dir = process.argv[2];
const own = new Session(dir);
own.query('CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x');
own.query('INSERT INTO t SELECT number FROM numbers(1000)');

const server = await startChdbHttpServerOnThread({ path: dir, password: 'secret', maxConcurrentQueries: 1 }, new URL(`file://${path.join(dist, 'serving-worker.js')}`));
if (server === null) throw new Error('no serving thread');

// A reader on a thread of its own: it stores the count it was answered, then wakes this thread.
const answered = new Int32Array(new SharedArrayBuffer(4));
const reader = new Worker(
  `const { workerData } = require('node:worker_threads');
   fetch(workerData.url + '/?query=' + encodeURIComponent('SELECT count() FROM t'), { headers: { Authorization: 'Basic ' + Buffer.from('default:secret').toString('base64') } })
     .then((response) => response.text())
     .then((body) => { Atomics.store(workerData.answered, 0, Number(body.trim()) || -1); Atomics.notify(workerData.answered, 0); });`,
  { eval: true, workerData: { url: server.url, answered } },
);
// This thread's event loop does not turn until the answer came (or the bound passed: the answer needed it).
const blocked = Atomics.wait(answered, 0, 0, 50_000);
const count = Atomics.load(answered, 0);
await server.close();
await reader.terminate();
// The engine is still this process's after the server closed: the serving thread did not take it along.
const after = own.query('SELECT count() FROM t', 'CSV').trim();
own.close();
process.stdout.write(`${JSON.stringify({ answeredWhileBlocked: blocked !== 'timed-out', count, after: Number(after) })}\n`);
