// `npm run bench -- --floors`: what parsing and storing raw events cost on this machine before any
// of our pipeline runs, so the end-to-end figure can be read against the least any design on
// the embedded raw store could do. Each step runs in a fresh child process over the same file:
//   parse              read the file and JSON.parse every line
//   parse+raw-line     ... and store each line in SQLite (the raw store's connection settings,
//                      200k-row transactions) with the message-key index that dedup needs
//   parse+raw+identity ... and the (identity, time) index that derivation reads users by
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { messageKey } from '../../src/stores/sqlite/message-key.js';
import { tuneConnection } from '../../src/stores/sqlite/sqlite-raw-store.js';

const MODES = ['parse', 'parse+raw-line', 'parse+raw+identity'] as const;
type Mode = (typeof MODES)[number];

interface FloorResult {
  mode: Mode;
  events: number;
  elapsedMs: number;
  cpuMs: number;
}

const ROWS_PER_TRANSACTION = 200_000;

async function measure(mode: Mode, input: string): Promise<FloorResult> {
  const dir = mkdtempSync(join(tmpdir(), 'journeyctl-floor-'));
  const started = performance.now();
  const cpu = process.cpuUsage();
  let db: Database.Database | undefined;
  let insert: ((event: { messageId: string; identity: string; time: number; line: string }) => void) | undefined;
  if (mode !== 'parse') {
    db = new Database(join(dir, 'floor.sqlite'));
    tuneConnection(db);
    db.exec('CREATE TABLE raw (message_key INTEGER NOT NULL, message_id TEXT NOT NULL, identity_key TEXT NOT NULL, event_time INTEGER NOT NULL, raw TEXT NOT NULL)');
    db.exec('CREATE INDEX raw_message_key ON raw (message_key)');
    if (mode === 'parse+raw+identity') db.exec('CREATE INDEX raw_identity_time ON raw (identity_key, event_time)');
    const statement = db.prepare('INSERT INTO raw VALUES (?, ?, ?, ?, ?)');
    const exists = db.prepare('SELECT 1 FROM raw WHERE message_key = ? AND message_id = ?').pluck();
    insert = (event) => {
      const key = messageKey(event.messageId);
      if (exists.get(key, event.messageId) === undefined) statement.run(key, event.messageId, event.identity, event.time, event.line);
    };
    db.exec('BEGIN');
  }
  let events = 0;
  for await (const line of createInterface({ input: createReadStream(input), crlfDelay: Infinity })) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const event = parsed as { messageId?: unknown; userId?: unknown; anonymousId?: unknown; timestamp?: unknown } | null;
    if (event === null || typeof event !== 'object' || typeof event.messageId !== 'string') continue;
    events += 1;
    insert?.({ messageId: event.messageId, identity: String(event.userId ?? event.anonymousId), time: Date.parse(String(event.timestamp)) || 0, line });
    if (db && events % ROWS_PER_TRANSACTION === 0) db.exec('COMMIT; BEGIN');
  }
  if (db) {
    db.exec('COMMIT');
    db.close();
  }
  const used = process.cpuUsage(cpu);
  rmSync(dir, { recursive: true, force: true });
  return { mode, events, elapsedMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

/** Runs every step in its own process and prints one line each, with the whole run for reference. */
export function runStorageFloors(input: string, endToEnd: { events: number; elapsedMs: number } | null): void {
  const self = fileURLToPath(import.meta.url);
  const results: FloorResult[] = [];
  for (const mode of MODES) {
    const child = spawnSync(process.execPath, [self, '--child', mode, input], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`storage floor ${mode} failed:\n${child.stderr}`);
    results.push(JSON.parse(child.stdout.trim().split('\n').pop()!) as FloorResult);
  }
  const perEvent = (ms: number, events: number) => `${((ms * 1000) / events).toFixed(1)} µs/event`;
  console.log('storage floors (one thread each; the least any pipeline over this raw store does per event):');
  for (const r of results) {
    console.log(`  ${r.mode.padEnd(20)} ${(r.elapsedMs / 1000).toFixed(1).padStart(6)} s  ${perEvent(r.elapsedMs, r.events).padStart(15)}  cpu ${(r.cpuMs / 1000).toFixed(1)} s`);
  }
  if (endToEnd)
    console.log(`  ${'journeyctl run'.padEnd(20)} ${(endToEnd.elapsedMs / 1000).toFixed(1).padStart(6)} s  ${perEvent(endToEnd.elapsedMs, endToEnd.events).padStart(15)}  (end to end, both cores)`);
  console.log('  100,000 events/s end to end leaves 10 µs/event of wall time: 20 core-µs on 2 cores for parsing, storing, reading back, deriving and writing analytics.');
}

if (process.argv[2] === '--child') {
  const mode = process.argv[3] as Mode;
  if (!MODES.includes(mode)) throw new Error(`unknown storage floor ${mode}`);
  console.log(JSON.stringify(await measure(mode, process.argv[4]!)));
}
