import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Spool files: rows for the ClickHouse engine in this process (chdb) written as TSV to a file in
 * the data directory, which ClickHouse reads itself (`INSERT … SELECT … FROM file(…)`). Reading
 * a file costs chdb a fraction of parsing the same rows inlined after an `INSERT … FORMAT`
 * statement, which is what its insert() does (docs/decisions/0021, 0022). Only the process that
 * owns the engine spools; a server, or chdb served by another process, gets the rows in the
 * request body instead.
 */

/** The spool directory of a data directory. */
export function spoolDirOf(dataDir: string): string {
  return join(dataDir, 'spool');
}

const SPOOL_FILE = /^[a-z-]+-(\d+)-\d+\.tsv$/;

/**
 * Creates the spool directory and removes the files a killed process left there (a process
 * removes its own whether its insert succeeded or not). Called by the process that has just
 * taken the engine: no other live process spools into this directory.
 */
export function prepareSpoolDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) {
    const pid = SPOOL_FILE.exec(name)?.[1];
    if (pid !== undefined && !isLive(Number(pid))) rmSync(join(dir, name), { force: true });
  }
  return dir;
}

function isLive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let spoolCounter = 0;

/**
 * Writes `body` to a new file in `dir`, runs `use` with the `file()` table function that reads
 * it as TSV of `structure` (`name Type, …`), and removes the file whether or not `use` succeeded.
 */
export async function withSpooledTsv<T>(dir: string, kind: string, body: string, structure: string, use: (file: string) => Promise<T>): Promise<T> {
  const path = join(dir, `${kind}-${process.pid}-${(spoolCounter += 1)}.tsv`);
  try {
    await writeFile(path, body);
    return await use(`file(${sqlString(path)}, TabSeparated, ${sqlString(structure)})`);
  } finally {
    await rm(path, { force: true });
  }
}

/** A ClickHouse string literal (for what cannot be a bound parameter: table function arguments). */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0', "'": "\\'" };

/** One TSV field: ClickHouse's TabSeparated escapes, `\N` for null. */
export function tsvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number') return String(Math.trunc(value));
  return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\t\n\r\0]/g, (c) => ESCAPES[c]!) : value;
}

const NEEDS_QUOTED_ESCAPE = /[\\'\t\n\r\0]/;

/** An Array(String) TSV field: `['a','b']`, each element a quoted string with backslash escapes. */
export function tsvStringArray(values: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i]!;
    if (i > 0) out += ',';
    out += `'${NEEDS_QUOTED_ESCAPE.test(value) ? value.replace(/[\\'\t\n\r\0]/g, (c) => ESCAPES[c]!) : value}'`;
  }
  return `${out}]`;
}
