import { type ChildProcess, spawn } from 'node:child_process';
import { Writable } from 'node:stream';

/**
 * Long output on a terminal goes through `$PAGER` (default `less -FRX`), as git and gh do:
 * output that fits on one screen is written straight to the terminal; the pager starts only
 * once it would scroll away. Pipes and files are never paged; `--no-pager` or an empty PAGER
 * turns it off.
 */
export interface PagedOutput {
  /** Where to write: the terminal, or the pager once the output outgrows the screen. */
  readonly out: Writable;
  /** True once the person quit the pager: stop producing output, it is not an error. */
  readonly quit: boolean;
  /** Flushes what is held back and waits for the pager to exit. */
  finish(): Promise<void>;
}

export const DEFAULT_PAGER = 'less -FRX';

export function openPagedOutput(io: { stdout: Writable & { isTTY?: boolean }; env: Record<string, string | undefined> }, enabled: boolean): PagedOutput {
  const command = io.env.PAGER ?? DEFAULT_PAGER;
  if (!enabled || !io.stdout.isTTY || command.trim() === '' || command.trim() === 'cat') {
    return { out: io.stdout, quit: false, finish: async () => {} };
  }
  const screen = Math.max(1, ((io.stdout as { rows?: number }).rows ?? 24) - 1);
  const held: Buffer[] = [];
  let lines = 0;
  let pager: ChildProcess | null = null;
  let exited: Promise<void> | null = null;
  let quit = false;

  const startPager = () => {
    pager = spawn(command, { shell: true, stdio: ['pipe', 'inherit', 'inherit'], env: { LESS: 'FRX', ...io.env } });
    exited = new Promise((resolve) => pager!.once('close', () => resolve()));
    pager.once('close', () => (quit = true));
    // A pager that quits early closes its stdin: that is the reader saying "enough".
    pager.stdin!.on('error', () => (quit = true));
  };
  const toPager = (chunk: Buffer, callback: (error?: Error | null) => void) => {
    if (quit) return callback(Object.assign(new Error('the pager was closed'), { code: 'EPIPE' }));
    pager!.stdin!.write(chunk, () => callback());
  };

  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (pager !== null) return toPager(chunk, callback);
      held.push(chunk);
      for (const byte of chunk) if (byte === 10) lines += 1;
      if (lines < screen) return callback();
      startPager();
      const all = Buffer.concat(held.splice(0));
      return toPager(all, callback);
    },
  });

  return {
    out,
    get quit() {
      return quit;
    },
    async finish() {
      await new Promise<void>((resolve) => out.end(resolve));
      if (pager === null) {
        if (held.length > 0) io.stdout.write(Buffer.concat(held.splice(0)));
        return;
      }
      if (!quit) (pager as ChildProcess).stdin!.end();
      await exited;
    },
  };
}
