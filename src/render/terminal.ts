/**
 * The one place that decides whether output may carry colour (and other escape codes):
 * every renderer (cli-table3 tables, ink views, check and report output) asks this.
 *
 * Colour only when stdout is a terminal, NO_COLOR is unset or empty (no-color.org: any
 * non-empty value turns it off), TERM is not `dumb` and `--no-color` was not given.
 */
export function colorEnabled(stdout: { isTTY?: boolean }, env: Record<string, string | undefined>, flag: boolean | undefined = undefined): boolean {
  if (flag === false) return false;
  if (!stdout.isTTY) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return env.TERM !== 'dumb';
}

/** The cli-table3 `style` for a table: cli-table3 colours heads red and borders grey unless told not to. */
export function tableStyle(color: boolean): { head: string[]; border: string[] } {
  return color ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] };
}

/** cli-table3 border characters without a rule between every row (the heading keeps its rule). */
export const COMPACT_TABLE_CHARS = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/** Terminal columns of a stream, or `fallback` when it is not a terminal (a file has no width). */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number }, fallback = Number.POSITIVE_INFINITY): number {
  return stream.isTTY && stream.columns ? stream.columns : fallback;
}
