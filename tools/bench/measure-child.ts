// Runs one journeyctl command in its own process and reports its peak RSS, so the benchmark
// measures the pipeline alone (not the generator or the parent's buffers).
import { main } from '../../src/cli.js';
import { applyHeapPolicy } from '../../src/runtime/heap-policy.js';

applyHeapPolicy();

const started = performance.now();
const code = await main(process.argv.slice(0, 2).concat(process.argv.slice(2)), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
const elapsedMs = performance.now() - started;
const usage = process.resourceUsage();
// cpuMs (user + system, all threads, chdb's included) next to wall time: on a shared, loaded machine wall time mostly measures the queue.
process.stderr.write(`BENCH_RESULT ${JSON.stringify({ code, elapsedMs, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, maxRssBytes: usage.maxRSS * 1024 })}\n`);
process.exitCode = code;
