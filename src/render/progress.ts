import type { Writable } from 'node:stream';

export interface ProgressReporter {
  /**
   * Starts a named phase (`reading`, `deriving sessions`, …): drawn at once, and its rate,
   * elapsed time and ETA are measured from here. `unit` names what `count` counts.
   */
  phase(name: string, unit?: string): void;
  /** `done` of `total` for the bar and ETA; `count` (default `done`) for the rate; `detail` is shown as is. */
  update(done: number, total: number | undefined, detail: string, count?: number): void;
  finish(): void;
}

/** Whether a bar is drawn on the terminal right now (no newline after it yet). */
let lineOpen = false;

/** What to write before a message that must start on its own line (`interrupted`): a newline while a bar is drawn. */
export function lineBreakIfDrawing(): string {
  return lineOpen ? '\n' : '';
}

/** Milliseconds between two plain lines on a `TERM=dumb` terminal (it cannot redraw one line). */
const DUMB_LINE_MS = 2000;

export interface ProgressOptions {
  /** The environment: `TERM=dumb` gets plain lines instead of a redrawn one. */
  env?: Record<string, string | undefined>;
  clock?: () => number;
}

/**
 * A one-line bar on stderr when it is a terminal; nothing otherwise (cron logs stay clean). A
 * `TERM=dumb` terminal (Emacs shell, some CI consoles) cannot move the cursor: it gets the same
 * text as plain lines, at each phase and then every two seconds, without `\r` or escape codes.
 */
export function createProgress(stream: Writable & { isTTY?: boolean; columns?: number }, enabled: boolean, options: ProgressOptions = {}): ProgressReporter {
  if (!enabled || !stream.isTTY) return { phase() {}, update() {}, finish() {} };
  const clock = options.clock ?? Date.now;
  const dumb = options.env?.TERM === 'dumb';
  let lastDraw = 0;
  let phaseName = '';
  let phaseUnit = '';
  let phaseStart = clock();
  let last: { done: number; total: number | undefined; detail: string; count: number } | null = null;
  const draw = () => {
    const now = clock();
    lastDraw = now;
    const elapsedMs = now - phaseStart;
    const parts: string[] = [];
    if (phaseName) parts.push(phaseName);
    if (last) {
      const { done, total, detail, count } = last;
      const fraction = total ? Math.min(1, done / total) : undefined;
      if (fraction !== undefined) parts.push(`[${'#'.repeat(Math.round(fraction * 20)).padEnd(20, '.')}] ${(fraction * 100).toFixed(0).padStart(3)}%`);
      if (detail) parts.push(detail);
      if (elapsedMs >= 1000 && count > 0) parts.push(`${formatRate((count * 1000) / elapsedMs)}${phaseUnit ? ` ${phaseUnit}` : ''}/s`);
      parts.push(`${formatClock(elapsedMs)} elapsed`);
      if (fraction !== undefined && fraction > 0 && fraction < 1 && elapsedMs >= 1000) parts.push(`ETA ${formatClock((elapsedMs * (1 - fraction)) / fraction)}`);
    } else parts.push(`${formatClock(elapsedMs)} elapsed`);
    if (dumb) {
      stream.write(`${parts.join(' · ')}\n`);
      return;
    }
    stream.write(`\r\u001b[2K${parts.join(' · ')}`.slice(0, (stream.columns || 120) + 5));
    lineOpen = true;
  };
  return {
    phase(name, unit = '') {
      phaseName = name;
      phaseUnit = unit;
      phaseStart = clock();
      last = null;
      draw();
    },
    update(done, total, detail, count = done) {
      const first = last === null;
      last = { done, total, detail, count };
      if (!first && clock() - lastDraw < (dumb ? DUMB_LINE_MS : 100)) return;
      draw();
    },
    finish() {
      if (lineOpen) stream.write('\r\u001b[2K');
      lineOpen = false;
    },
  };
}

/** 950, 12.3k, 4.1M: a rate at a glance. */
function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(0)}k`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

/** m:ss, or h:mm:ss from an hour. */
export function formatClock(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
