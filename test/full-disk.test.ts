import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNdjson, runCli } from './helpers/cli.js';
import { noisyJourneyLines } from './helpers/journeys.js';

/**
 * A data directory on a full disk: a small tmpfs (we run as root, in CI too; a mount that fails
 * fails this file, it is not skipped) filled with a file, then that file shortened to leave
 * exactly `free` bytes. Commands must either do their work, or fail saying "disk full" having
 * written nothing; a steward correction that was recorded is applied by the next derive.
 */
const work = mkdtempSync(join(tmpdir(), 'jc-full-disk-'));
const disk = join(work, 'disk');
const filler = join(disk, 'filler');
const input = join(work, 'events.ndjson');
const empty = join(work, 'empty.ndjson');
let mounted = false;

beforeAll(() => {
  execFileSync('mkdir', ['-p', disk]);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', disk], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`cannot mount a tmpfs at ${disk} (these tests need root): ${(error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message}`);
  }
  mounted = true;
  writeFileSync(input, `${noisyJourneyLines().join('\n')}\n`);
  writeFileSync(empty, '');
});

afterAll(() => {
  if (mounted) {
    try {
      execFileSync('umount', [disk], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', disk], { stdio: 'pipe' }); // a file still open: detach now, freed when closed
    }
  }
  rmSync(work, { recursive: true, force: true });
});

/** Fills the tmpfs, then frees `free` bytes of the filler. */
function fillDisk(free: number): void {
  const fd = openSync(filler, 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 4096, 512]) {
      const block = Buffer.alloc(size, 1);
      try {
        for (;;) written += writeSync(fd, block);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  if (free > 0) truncateSync(filler, Math.max(0, written - free));
  const available = Number(execFileSync('df', ['--output=avail', '-B1', disk]).toString().trim().split('\n')[1]);
  expect(available).toBeGreaterThanOrEqual(free);
  expect(available).toBeLessThan(free + (64 << 10));
}

function freeDisk(): void {
  rmSync(filler, { force: true });
}

const cli = (data: string, args: string[]) => runCli([...args, '--data-dir', data]);
const exports = async (data: string) => {
  const out: Record<string, string> = {};
  for (const kind of ['sessions', 'events', 'flags']) {
    const result = await cli(data, ['export', kind]);
    expect(result.code, result.stderr).toBe(0);
    out[kind] = result.stdout;
  }
  return out;
};
const merge = ['fix', 'merge-users', 'carol-phone', 'carol', '--reason', 'same person', '--yes'];

async function freshStore(name: string): Promise<string> {
  const data = join(disk, name);
  const run = await cli(data, ['run', '--input', input]);
  expect(run.code, run.stderr).toBe(0);
  return data;
}

describe('on a full disk', () => {
  let merged: Record<string, string>;

  beforeAll(async () => {
    // What the merge gives with room to spare: every full-disk outcome must end there.
    const control = await freshStore('control');
    expect((await cli(control, merge)).code).toBe(0);
    merged = await exports(control);
    expect(parseNdjson(merged.sessions!).filter((s) => s.user_id === 'carol-phone')).toEqual([]);
  });

  it('fix merge-users either records nothing (disk full) or records and applies it on the next run; never half', async () => {
    const seen: string[] = [];
    for (const free of [0, 64 << 10, 512 << 10, 4 << 20]) {
      const data = await freshStore(`fix-${free}`);
      fillDisk(free);
      const fix = await cli(data, merge);
      freeDisk();
      const recorded = parseNdjson((await cli(data, ['fix', 'list'])).stdout).map((c) => c.id);
      if (fix.code === 0) {
        expect(recorded, `${free} bytes free`).toEqual(['c1']);
        const result = JSON.parse(fix.stdout) as { catching_up: boolean; derived: { users: number } | null };
        if (result.catching_up) {
          expect(fix.stderr).toMatch(/^recorded c1; analytics will catch up on the next run \(`journeyctl run`, or the next `fix`\): deriving now failed: .+$/m);
          seen.push(`${free}: recorded, catching up`);
          // A retry is told it is recorded, not that the ids are "already the same person".
          const retry = await cli(data, merge);
          expect([retry.code, retry.stderr]).toEqual([2, expect.stringContaining('carol-phone is already merged into carol by c1')]);
          const caughtUp = await cli(data, ['run', '--input', empty]);
          expect(caughtUp.code, caughtUp.stderr).toBe(0);
        } else {
          expect(result.derived?.users).toBeGreaterThan(0);
          seen.push(`${free}: applied`);
        }
      } else {
        expect(fix.code, fix.stderr).toBe(3);
        expect(fix.stderr).toMatch(new RegExp(`^journeyctl: disk full: free space in ${data} \\(`));
        expect(recorded, `${free} bytes free: nothing may be recorded`).toEqual([]);
        seen.push(`${free}: nothing recorded`);
        expect((await cli(data, merge)).code).toBe(0);
      }
      expect(await exports(data), `${free} bytes free`).toEqual(merged);
    }
    // No room to write at all, room for the raw store but not for an analytics insert (chdb
    // reserves 1 MiB), and room for both: each path above was taken.
    expect(seen).toEqual(['0: nothing recorded', '65536: nothing recorded', '524288: recorded, catching up', '4194304: applied']);
  });

  it('a read (export) works, or says "disk full: free space in DIR"; it never fails otherwise', async () => {
    const data = await freshStore('read');
    const before = await exports(data);
    const seen: string[] = [];
    for (const free of [0, 64 << 10, 512 << 10]) {
      fillDisk(free);
      const sessions = await cli(data, ['export', 'sessions']);
      freeDisk();
      if (sessions.code === 0) {
        expect(sessions.stdout).toBe(before.sessions);
        seen.push(`${free}: read`);
      } else {
        expect(sessions.code, sessions.stderr).toBe(3);
        expect(sessions.stderr.split('\n')[0]).toMatch(new RegExp(`^journeyctl: disk full: free space in ${data} \\(`));
        seen.push(`${free}: disk full`);
      }
    }
    expect(seen).toEqual(['0: disk full', '65536: disk full', '524288: read']);
    expect(await exports(data)).toEqual(before);
  });
});
