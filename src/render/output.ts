import type { Writable } from 'node:stream';
import { humanCell, humanHeading, isShrinkable } from './human.js';
import { renderPlainTable } from './table.js';

export const OUTPUT_FORMATS = ['ndjson', 'json', 'csv', 'table'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** How a table for people looks: colour, the columns to fit (Infinity: a file), the zone of its times. */
export interface TableLook {
  color: boolean;
  width: number;
  zone: string;
}

const PLAIN: TableLook = { color: false, width: Number.POSITIVE_INFINITY, zone: 'UTC' };

/** A table holds rows in memory to size its columns; past this many it says so and stops. */
const TABLE_ROW_LIMIT = 2_000;

/** Streams records to `out` in the chosen format; only `table` buffers (bounded). Returns the count written. */
export async function writeRecords(records: AsyncIterable<Record<string, unknown>>, format: OutputFormat, out: Writable, warn: (message: string) => void, look: TableLook = PLAIN): Promise<number> {
  let count = 0;
  if (format === 'table') {
    const rows: Record<string, unknown>[] = [];
    for await (const record of records) {
      count += 1;
      if (rows.length < TABLE_ROW_LIMIT) rows.push(record);
    }
    if (count > TABLE_ROW_LIMIT) warn(`showing the first ${TABLE_ROW_LIMIT} of ${count} rows; use --output ndjson|csv for all of them`);
    if (rows.length === 0) return 0;
    const head = Object.keys(rows[0]!);
    const cells = rows.map((row) => head.map((key) => humanCell(key, row[key], look.zone)));
    const shrinkable = head.map((key) => isShrinkable(key, rows[0]![key]));
    const table = renderPlainTable(head.map(humanHeading), cells, { width: look.width, color: look.color, shrinkable });
    await write(out, table.text);
    if (table.hidden.length > 0) warn(`${table.hidden.length} column(s) left out to fit the terminal: ${table.hidden.join(', ')}; choose columns with --fields`);
    return count;
  }
  let header: string[] | null = null;
  if (format === 'json') await write(out, '[');
  for await (const record of records) {
    if (format === 'ndjson') await write(out, `${JSON.stringify(record)}\n`);
    else if (format === 'json') await write(out, `${count === 0 ? '\n' : ',\n'}${JSON.stringify(record)}`);
    else {
      if (header === null) {
        header = Object.keys(record);
        await write(out, `${header.map(csvField).join(',')}\n`);
      }
      await write(out, `${header.map((key) => csvField(record[key])).join(',')}\n`);
    }
    count += 1;
  }
  if (format === 'json') await write(out, count === 0 ? ']\n' : '\n]\n');
  return count;
}

function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export async function* fromArray<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

/** Respects backpressure so a slow pipe (| head, | less) never makes us buffer the whole export. */
export function write(out: Writable, text: string): Promise<void> {
  if (out.write(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      out.off('error', onError);
      resolve();
    };
    const onError = (error: Error) => {
      out.off('drain', onDrain);
      reject(error);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}
