#!/usr/bin/env node
// A ClickHouse HTTP interface served by chdb, the in-process ClickHouse engine. No ClickHouse
// server binary can be installed on the test machines, so this process stands in for one: real
// ClickHouse SQL, real MergeTree storage in --data-dir, the HTTP framing the client expects.
// The server itself is journeyctl's (src/stores/clickhouse/serve/chdb-http-server.ts, the one a
// process holding a data directory serves it with); this is its command line. Build first
// (`npm run build`: npm test and test:integration do).
//
//   node test/harness/chdb-http-server.mjs --data-dir DIR [--host 127.0.0.1] [--port 0]
//                                          [--password ''] [--log FILE]
//
// On start it prints one JSON line to stdout: {"ready":true,"url":"http://127.0.0.1:PORT",...}
//
// It runs as its own process because chdb binds one data directory per process and locks it. It
// can be stopped (SIGTERM, SIGKILL, SIGSTOP/SIGCONT) and started again on the same data directory.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const built = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/stores/clickhouse/serve/chdb-http-server.js');
if (!fs.existsSync(built)) {
  process.stderr.write(`chdb-http-server: ${built} is missing; run \`npm run build\` first\n`);
  process.exit(2);
}
const { startChdbHttpServer } = await import(built);
const { drainPending } = await import('chdb');

function parseArgs(argv) {
  const out = { host: '127.0.0.1', port: 0, dataDir: '', password: '', log: '' };
  const keys = { '--host': 'host', '--port': 'port', '--data-dir': 'dataDir', '--password': 'password', '--log': 'log' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const key = keys[eq > 0 ? a.slice(0, eq) : a];
    if (!key) throw new Error(`unknown argument ${a}`);
    out[key] = eq > 0 ? a.slice(eq + 1) : argv[++i];
  }
  if (!out.dataDir) throw new Error('--data-dir is required');
  return { ...out, port: Number(out.port) };
}
const opts = parseArgs(process.argv.slice(2));
const dataDir = path.resolve(opts.dataDir);
fs.mkdirSync(dataDir, { recursive: true });

const logStream = opts.log ? fs.createWriteStream(opts.log, { flags: 'a' }) : null;
const log = (msg) => logStream?.write(`${new Date().toISOString()} ${msg}\n`);

const server = await startChdbHttpServer({ path: dataDir, host: opts.host, port: opts.port, password: opts.password, log, holdEngine: true });

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: shutting down`);
  await server.close();
  await drainPending().catch(() => {});
  logStream?.end();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

const info = { ready: true, url: server.url, port: server.port, pid: process.pid, dataDir, engine: server.engineVersion, timezone: server.engineTimezone };
log(`listening: ${JSON.stringify(info)}`);
process.stdout.write(`${JSON.stringify(info)}\n`);
