import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// A real terminal: `script` gives the command a pty, so stderr.isTTY is true as for a person.
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'journeyctl.js');
const DEMO = join(ROOT, 'fixtures', 'demo.ndjson');

function inTerminal(command: string, onOutput?: (text: string) => void, term = 'xterm'): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: term } });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      onOutput?.(text);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, text }));
  });
}

/** The frames a person saw: every redraw of the line, without the erase codes. */
function frames(text: string): string[] {
  return text
    .split(/\r|\n/)
    .map((frame) => frame.replace(/\u001b\[2K/g, '').trim())
    .filter((frame) => frame !== '');
}

describe('run on a terminal shows what it is doing', () => {
  it('names each phase with elapsed time, counts users while deriving, and never shows the reading bar during derivation', async () => {
    const data = mkdtempSync(join(tmpdir(), 'jc-tty-'));
    const { code, text } = await inTerminal(`node ${BIN} run --input ${DEMO} --data-dir ${data}`);
    expect(code).toBe(0);
    const seen = frames(text);
    const phaseOf = (frame: string) => /^(reading|storing|deriving sessions|writing analytics) · /.exec(frame)?.[1];
    const phases = seen.map(phaseOf).filter((phase): phase is string => phase !== undefined);
    expect(phases[0]).toBe('reading');
    const deriving = phases.indexOf('deriving sessions');
    expect(deriving).toBeGreaterThan(0);
    expect(phases.lastIndexOf('writing analytics')).toBeGreaterThan(deriving);
    // Once derivation starts, no frame is the reading (or storing) bar.
    expect(phases.slice(deriving).filter((phase) => phase === 'reading' || phase === 'storing')).toEqual([]);
    for (const frame of seen.filter((f) => phaseOf(f) !== undefined)) expect(frame).toMatch(/\d+:\d\d elapsed/);
    expect(seen.some((frame) => /^deriving sessions · \[[#.]+\] +\d+% · [\d,]+ of [\d,]+ users/.test(frame))).toBe(true);
    // The summary: pace, findings and one next step.
    expect(text).toMatch(/elapsed +\d+\.\d s \([\d,]+ events\/s\)/);
    expect(text).toMatch(/sessions flagged +\d+/);
    expect(text).toMatch(/release bursts +\d+/);
    expect(text).toContain('next: journeyctl export rejected --output table');
  });

  it('prints "interrupted" on its own line, not glued to the bar', async () => {
    const data = mkdtempSync(join(tmpdir(), 'jc-tty-'));
    // A trickling stdin keeps the run going until it is interrupted; the writer stops when the pipe closes.
    const writer = `node -e "const l=require('fs').readFileSync('${DEMO}','utf8').split('\\\\n');let i=0;setInterval(()=>process.stdout.write(l[i++%l.length]+'\\\\n'),20)"`;
    let pid: number | null = null;
    let sent = false;
    const { text } = await inTerminal(`${writer} | node ${BIN} run --input - --data-dir ${data} & echo PID=$!; wait $!`, (output) => {
      pid ??= Number(/PID=(\d+)/.exec(output)?.[1]) || null;
      if (!sent && pid !== null && /reading · /.test(output)) {
        sent = true;
        process.kill(pid, 'SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(text).toMatch(/\r?\njourneyctl: interrupted/);
    expect(frames(text)).toContain('journeyctl: interrupted');
  });

  it('on a TERM=dumb terminal prints plain progress lines: no carriage return, no escape code', async () => {
    const data = mkdtempSync(join(tmpdir(), 'jc-tty-'));
    const { code, text } = await inTerminal(`node ${BIN} run --input ${DEMO} --data-dir ${data}`, undefined, 'dumb');
    expect(code).toBe(0);
    // The pty turns each \n into \r\n; any other \r (or an escape code) would be a redraw.
    expect(text.replaceAll('\r\n', '\n')).not.toMatch(/\r|\u001b/);
    const lines = text.split('\r\n');
    const phases = lines.map((line) => /^(reading|storing|deriving sessions|writing analytics) · .*\d+:\d\d elapsed/.exec(line)?.[1]).filter(Boolean);
    expect(phases[0]).toBe('reading');
    expect(phases).toContain('deriving sessions');
    expect(phases).toContain('writing analytics');
    expect(text).toMatch(/sessions flagged +\d+/);
  });
});
