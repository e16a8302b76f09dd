import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AcceptedEvent, RejectedLine } from '../../../domain/event.js';
import type { RawStore } from '../../raw-store.js';
import { accepted } from '../../raw-store.conformance.js';
import { SqliteRawStore } from '../../sqlite/sqlite-raw-store.js';
import type { WritePoint } from './raw-event-log.js';

// A writer SIGKILLed between the steps of a batch write (raw-event-log.ts): after the links and
// marks are committed in SQLite, after the events are inserted, and on the rare path after an
// earlier copy is inserted but before the row it replaces is deleted. The child stops at the
// point (a seam that never returns) and says so; only then is it killed: no timing. Reopening
// the store and redelivering the batch (the source never got its ack) must leave exactly what
// an uninterrupted writer leaves: nothing lost, nothing doubled, every touched id dirty.
const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const DIST = (path: string) => pathToFileURL(join(ROOT, 'dist', path)).href;

const first: { accepted: AcceptedEvent[]; rejected: RejectedLine[] } = {
  accepted: [
    accepted({ messageId: 'a1', identityKey: 'u1', userId: 'u1', anonymousId: 'anon-1', receivedAt: 5_000, rawHash: 'h-a1', raw: '{"a":1}' }),
    accepted({ messageId: 'a2', identityKey: 'anon-2', anonymousId: 'anon-2', receivedAt: 5_000, rawHash: 'h-a2' }),
  ],
  rejected: [],
};
const second: { accepted: AcceptedEvent[]; rejected: RejectedLine[] } = {
  accepted: [
    accepted({ messageId: 'b1', identityKey: 'u3', userId: 'u3', anonymousId: 'anon-3', receivedAt: 6_000, rawHash: 'h-b1' }),
    // An earlier copy of a1, filed under another id: replaces the stored row (the rare path).
    accepted({ messageId: 'a1', identityKey: 'u1', userId: 'u1', anonymousId: 'anon-9', receivedAt: 1_000, rawHash: 'h-a1-early', event: 'early' }),
    // A later, distinct copy of a2: a duplicate that is remembered as a copy.
    accepted({ messageId: 'a2', identityKey: 'anon-2', anonymousId: 'anon-2', receivedAt: 9_000, rawHash: 'h-a2-retry' }),
  ],
  rejected: [{ raw: 'not json', rawHash: 'r1', reason: 'invalid_json', detail: 'x', receivedAt: 6_000, messageId: null, event: null, appVersion: '1.0' }],
};

/** What a store holds of the two batches (the verifying child runs this very function: its source is passed in). */
async function snapshot(store: RawStore) {
  return {
    events: (await store.eventsByIdentity(['u1', 'anon-2', 'u3'])).map((e) => [e.messageId, e.event, e.receivedAt, e.anonymousId, e.copies]).sort(),
    counts: await store.counts(),
    rejected: (await store.tailRejected(null, {}, 100)).records.map((r) => r.value.rawHash),
    links: Object.fromEntries(await store.linkTargets(['anon-1', 'anon-9', 'anon-3'])),
    tailed: (await store.tailEvents(null, {}, 100)).records.map((r) => r.value.messageId).sort(),
    dirty: (await store.listDirtyIds(100)).map((d) => d.id).sort(),
  };
}

const CHILD = `
import { readFileSync } from 'node:fs';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
const { SqliteRawStore } = await import(${JSON.stringify(DIST('stores/sqlite/sqlite-raw-store.js'))});
const { createClickHouseContext } = await import(${JSON.stringify(DIST('stores/clickhouse/clickhouse-connection.js'))});
const { composeRawStore, createClickHouseRawContext, migrateRawTables } = await import(${JSON.stringify(DIST('stores/clickhouse/raw/compose-raw-store.js'))});
const [mode, dir, point, batches] = process.argv.slice(1);
const client = createClient({ connection: createChdbConnection({ path: dir + '/analytics' }) });
const ctx = createClickHouseRawContext(createClickHouseContext(client, 'journeyctl', 'chdb'), { spoolDir: dir });
await migrateRawTables(ctx);
let armed = false;
const pause = async (at) => {
  if (!armed || at !== point) return;
  process.stdout.write('stopped at ' + at + '\\n');
  await new Promise(() => {});
};
const store = await composeRawStore(SqliteRawStore.open(dir + '/raw.sqlite'), ctx, { engine: 'chdb', pause });
const [one, two] = JSON.parse(readFileSync(batches, 'utf8'));
if (mode === 'crash') {
  await store.writeBatch(one.accepted, one.rejected);
  armed = true;
}
await store.writeBatch(two.accepted, two.rejected);
if (mode === 'verify') process.stdout.write(JSON.stringify(await (${snapshot.toString()})(store)) + '\\n');
await store.close();
await client.close();
`;

function runChild(mode: 'crash' | 'verify', dir: string, point: WritePoint): Promise<{ out: string; signal: NodeJS.Signals | null }> {
  const batches = join(dir, 'batches.json');
  writeFileSync(batches, JSON.stringify([first, second]));
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, mode, dir, point, batches], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (mode === 'crash' && out.includes(`stopped at ${point}`)) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (mode === 'crash' ? signal === 'SIGKILL' && out.includes(`stopped at ${point}`) : code === 0) resolve({ out, signal });
      else reject(new Error(`${mode} child for "${point}" ended with ${code ?? signal}: ${out} ${err}`));
    });
  });
}

describe('a chdb raw store writer killed mid-batch', () => {
  const points: WritePoint[] = ['marks committed', 'events inserted', 'replacement inserted'];
  it.each(points)('loses nothing and doubles nothing once the batch is delivered again (killed after: %s)', async (point) => {
    // The uncut writer, on SQLite alone: what a crashed-and-redelivered store must hold.
    const reference = SqliteRawStore.open(join(mkdtempSync(join(tmpdir(), 'jc-crash-ref-')), 'raw.sqlite'));
    await reference.writeBatch(first.accepted, first.rejected);
    await reference.writeBatch(second.accepted, second.rejected);
    const expected = await snapshot(reference);
    await reference.close();
    expect(expected.events).toContainEqual(['a1', 'early', 1_000, 'anon-9', 2]);

    // chdb binds one directory per process: the killed writer and the one after it are children.
    const dir = mkdtempSync(join(tmpdir(), 'jc-crash-'));
    await runChild('crash', dir, point);
    const { out } = await runChild('verify', dir, point);
    const found = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
    const { dirty, ...rest } = found;
    const { dirty: expectedDirty, ...expectedRest } = expected;
    expect(rest).toEqual(expectedRest);
    // A mark for an event not stored yet is harmless (and cleared by derivation); a missing one is not.
    expect(dirty).toEqual(expect.arrayContaining(expectedDirty as string[]));
  });
});
