import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The compiled thread runs in a process of its own (test/harness/serving-thread-child.mjs; `npm test` builds first):
// what is checked is that process's own thread, blocked, and that it ends by itself.
const CHILD = join(import.meta.dirname, '..', '..', '..', '..', 'test', 'harness', 'serving-thread-child.mjs');

describe('the serving thread', () => {
  it("answers a reader while the holder's own thread is blocked, leaves the engine to the holder, and lets the process end", () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-serving-thread-'));
    const { status, stdout, stderr } = spawnSync(process.execPath, [CHILD, dir], { encoding: 'utf8' });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ answeredWhileBlocked: true, count: 1000, after: 1000 });
  });
});
