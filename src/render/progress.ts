import type { Writable } from 'node:stream';

export interface ProgressReporter {
  update(done: number, total: number | undefined, detail: string): void;
  finish(): void;
}

/** A one-line bar on stderr when it is a terminal; nothing otherwise (cron logs stay clean). */
export function createProgress(stream: Writable & { isTTY?: boolean; columns?: number }, enabled: boolean): ProgressReporter {
  if (!enabled || !stream.isTTY) return { update() {}, finish() {} };
  let lastDraw = 0;
  let drawn = false;
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      const width = 24;
      const fraction = total ? Math.min(1, done / total) : undefined;
      const bar = fraction === undefined ? '' : `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '.')}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
      stream.write(`\r\u001b[2K${bar}${detail}`.slice(0, (stream.columns ?? 120) + 8));
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\r\u001b[2K');
    },
  };
}
