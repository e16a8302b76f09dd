import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateEvents } from '../tools/generator/generate.js';
import { bulkLoadState, SECONDARY_INDEXES } from './helpers/bulk-load.js';
import { parseNdjson, runCli } from './helpers/cli.js';
import { shuffled } from './helpers/journeys.js';

// The compiled CLI runs the per-line stages on a worker thread once an input passes 1000 lines;
// in-process runs from the TypeScript sources (every other test) run them on the calling thread.
// Both must store exactly the same thing.
const BIN = join(import.meta.dirname, '..', 'bin', 'journeyctl.js');
const WORKER = join(import.meta.dirname, '..', 'dist', 'pipeline', 'line-worker.js');

function compiled(args: string[], nodeFlags: string[] = []) {
  const result = spawnSync(process.execPath, [...nodeFlags, BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH }, maxBuffer: 1 << 28 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The compiled CLI's main() run from a script (`node <flags> --input-type=module -e …`), as a program embedding journeyctl runs it. */
function fromScript(args: string[], nodeFlags: string[]) {
  const script = `const { main } = await import(${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'cli.js'))});
process.exitCode = await main(['node', 'journeyctl', ...${JSON.stringify(args)}], { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });`;
  const result = spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH }, maxBuffer: 1 << 28 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const KINDS = ['sessions', 'events', 'profiles', 'rejected'] as const;
function undated(ndjson: string): string[] {
  return parseNdjson(ndjson)
    .map(({ received_at: _receivedAt, ...rest }) => JSON.stringify(rest))
    .sort();
}

describe('ingest on a worker thread', () => {
  it('stores byte-identical results to the in-thread path, for any batch size', async () => {
    expect(existsSync(WORKER), 'dist is built (npm run build) before the tests').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'jc-threads-'));
    // ~4k lines with duplicates, late and malformed lines; shuffled so duplicates straddle batches.
    const lines = shuffled([...generateEvents({ users: 80, seed: 11, includeUsers: false, maxListedIds: 0 })], 3);
    expect(lines.length).toBeGreaterThan(3_000);
    const input = join(dir, 'events.ndjson');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const smallBatches = join(dir, 'small.yaml');
    writeFileSync(smallBatches, 'pipeline:\n  batch_size: 333\n');

    const inThread = join(dir, 'in-thread');
    const first = await runCli(['run', '--input', input, '--data-dir', inThread, '--output', 'json']);
    expect(first.code).toBe(0);

    const runs: Array<[string, string[]]> = [
      ['threaded', []],
      ['threaded-small', ['--config', smallBatches]],
    ];
    for (const [name, extra] of runs) {
      const dataDir = join(dir, name);
      const run = compiled(['run', '--input', input, '--data-dir', dataDir, '--output', 'json', ...extra]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      // A bulk load: the indexes a derive does not read were built on the checkpoint thread beside it, all there at exit.
      expect(bulkLoadState(join(dataDir, 'raw.sqlite')), name).toEqual({ indexes: SECONDARY_INDEXES, note: null });
      const summary = JSON.parse(run.stdout) as Record<string, unknown>;
      const expected = JSON.parse(first.stdout) as Record<string, unknown>;
      for (const key of ['events_read', 'accepted', 'duplicates', 'rejected', 'rejected_by_reason', 'late']) expect(summary[key], key).toEqual(expected[key]);
      for (const kind of KINDS) {
        const ours = await runCli(['export', kind, '--data-dir', inThread, '--output', 'ndjson']);
        const theirs = compiled(['export', kind, '--data-dir', dataDir, '--output', 'ndjson']);
        expect(theirs.code).toBe(0);
        expect(theirs.stdout.length, `${name} ${kind}`).toBeGreaterThan(0);
        if (kind === 'rejected') {
          // A line that could not be read has no receivedAt of its own and is dated by when it was read.
          expect(undated(theirs.stdout), `${name} ${kind}`).toEqual(undated(ours.stdout));
        } else {
          expect(theirs.stdout, `${name} ${kind}`).toBe(ours.stdout);
        }
      }
    }
  });

  it("starts its worker threads under Node's process-wide flags, run directly or from a script", () => {
    // A worker refuses V8's and process-wide flags in an explicit list (ERR_WORKER_INVALID_EXEC_ARGV);
    // listing the process's flags for every worker made `node --max-old-space-size=… journeyctl run` an internal error.
    expect(existsSync(WORKER), 'dist is built (npm run build) before the tests').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'jc-threads-'));
    const lines = [...generateEvents({ users: 40, seed: 13, includeUsers: false, maxListedIds: 0 })];
    expect(lines.length).toBeGreaterThan(1_000); // past the line worker's threshold; the served directory's thread starts regardless
    const input = join(dir, 'events.ndjson');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const nodeFlags = ['--expose-gc', '--max-old-space-size=3072', '--stack-size=2000'];
    const direct = compiled(['run', '--input', input, '--data-dir', join(dir, 'direct'), '--output', 'json'], nodeFlags);
    const script = fromScript(['run', '--input', input, '--data-dir', join(dir, 'script'), '--output', 'json'], nodeFlags);
    for (const [name, run] of [
      ['direct', direct],
      ['script', script],
    ] as const) {
      expect(run.stderr, name).toBe('');
      expect(run.code, name).toBe(0);
    }
    const [ours, theirs] = [direct, script].map((run) => JSON.parse(run.stdout) as Record<string, unknown>) as [Record<string, unknown>, Record<string, unknown>];
    expect(ours['accepted']).toBeGreaterThan(1_000);
    for (const key of ['events_read', 'accepted', 'duplicates', 'rejected', 'sessions_written']) expect(theirs[key], key).toEqual(ours[key]);
  });

  it('re-ingests on two line workers taking the batches that hit in turn, storing what the in-thread path stores', async () => {
    expect(existsSync(WORKER), 'dist is built (npm run build) before the tests').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'jc-threads-'));
    const lines = shuffled([...generateEvents({ users: 80, seed: 12, includeUsers: false, maxListedIds: 0 })], 5);
    // The first run stores 4 lines in 5; the re-ingest sends them all, then 200 of the new ones
    // again: batches mostly hit (so a second worker takes every other one) and still hold new lines.
    const fresh = lines.filter((_, index) => index % 5 === 0);
    const inputs = {
      first: lines.filter((_, index) => index % 5 !== 0),
      again: [...lines, ...fresh.slice(0, 200)],
    };
    for (const [name, input] of Object.entries(inputs)) writeFileSync(join(dir, `${name}.ndjson`), `${input.join('\n')}\n`);
    const smallBatches = join(dir, 'small.yaml');
    writeFileSync(smallBatches, 'pipeline:\n  batch_size: 250\n');

    const inThread = join(dir, 'in-thread');
    const threaded = join(dir, 'threaded');
    const summaries: Array<Record<string, unknown>> = [];
    for (const name of ['first', 'again']) {
      const input = join(dir, `${name}.ndjson`);
      const ours = await runCli(['run', '--input', input, '--data-dir', inThread, '--output', 'json']);
      expect(ours.code).toBe(0);
      const theirs = compiled(['run', '--input', input, '--data-dir', threaded, '--output', 'json', '--config', smallBatches]);
      expect(theirs.stderr).toBe('');
      expect(theirs.code).toBe(0);
      summaries.push(JSON.parse(ours.stdout) as Record<string, unknown>, JSON.parse(theirs.stdout) as Record<string, unknown>);
    }
    const [, , expected, summary] = summaries as [unknown, unknown, Record<string, unknown>, Record<string, unknown>];
    expect(expected['duplicates']).toBeGreaterThan(inputs.first.length);
    for (const key of ['events_read', 'accepted', 'duplicates', 'rejected', 'rejected_by_reason', 'late']) expect(summary[key], key).toEqual(expected[key]);
    for (const kind of KINDS) {
      const ours = await runCli(['export', kind, '--data-dir', inThread, '--output', 'ndjson']);
      const theirs = compiled(['export', kind, '--data-dir', threaded, '--output', 'ndjson']);
      expect(theirs.code).toBe(0);
      if (kind === 'rejected') expect(undated(theirs.stdout), kind).toEqual(undated(ours.stdout));
      else expect(theirs.stdout, kind).toBe(ours.stdout);
    }
  });
});
