import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The compiled thread runs in a process of its own (test/harness/serving-thread-child.mjs; `npm test` builds first):
// what is checked is that process's own thread, blocked, and that it ends by itself.
const CHILD = join(import.meta.dirname, '..', '..', '..', '..', 'test', 'harness', 'serving-thread-child.mjs');

function runChild(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the serving thread', () => {
  it("answers a reader while the holder's own thread is blocked, leaves the engine to the holder, and lets the process end", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jc-serving-thread-'));
    const { code, stdout, stderr } = await runChild(dir);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ answeredWhileBlocked: true, count: 1000, after: 1000 });
  });
});
