import { fit } from './tail-records.js';

/**
 * A table for people the way kubectl and gh print one: a heading line, then one line per row,
 * columns two spaces apart, no borders and no separator between rows. On a terminal it fits the
 * width: the widest columns give way first and long values end in an ellipsis.
 */

const GAP = 2;
/** A column that gives way keeps at least this much (or its whole heading, when longer). */
const MIN_COLUMN = 10;

export interface PlainTableOptions {
  /** Columns available; Infinity for a file or a pipe. */
  width: number;
  /** Heading in bold when colour is allowed (terminal.ts decides). */
  color: boolean;
  /** Per column: may it be cut short (ids, free text)? Times and numbers are never cut. */
  shrinkable?: readonly boolean[];
}

export interface PlainTable {
  text: string;
  /** Headings of the columns left out because the terminal is too narrow for them. */
  hidden: string[];
}

export function renderPlainTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>, options: PlainTableOptions): PlainTable {
  const clean = rows.map((row) => row.map((cell) => cell.replace(/\s+/g, ' ')));
  const widths = head.map((heading, column) => Math.max(heading.length, ...clean.map((row) => (row[column] ?? '').length)));
  const shown = fitWidths(widths, head, options.shrinkable ?? head.map(() => true), options.width);
  const line = (cells: readonly string[]) =>
    cells
      .slice(0, shown)
      .map((cell, column) => fit(cell, widths[column]!))
      .join(' '.repeat(GAP))
      .trimEnd();
  const heading = line(head);
  const lines = [options.color ? `\u001b[1m${heading}\u001b[22m` : heading, ...clean.map(line)];
  return { text: `${lines.join('\n')}\n`, hidden: head.slice(shown) };
}

/**
 * Fits the line into `available`: the widest shrinkable column gives way one character at a
 * time down to its floor; what still does not fit is left off from the right (at least one
 * column stays). Returns how many columns are shown.
 */
function fitWidths(widths: number[], head: readonly string[], shrinkable: readonly boolean[], available: number): number {
  if (!Number.isFinite(available)) return widths.length;
  const floors = widths.map((width, column) => (shrinkable[column] ? Math.min(width, Math.max(MIN_COLUMN, head[column]!.length)) : width));
  const total = (count: number) => widths.slice(0, count).reduce((sum, w) => sum + w, 0) + GAP * (count - 1);
  while (total(widths.length) > available) {
    let widest = -1;
    for (let column = 0; column < widths.length; column += 1) {
      if (widths[column]! > floors[column]! && (widest === -1 || widths[column]! > widths[widest]!)) widest = column;
    }
    if (widest === -1) break;
    widths[widest] = widths[widest]! - 1;
  }
  let shown = widths.length;
  while (shown > 1 && total(shown) > available) shown -= 1;
  return shown;
}
