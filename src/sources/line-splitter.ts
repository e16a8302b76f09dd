import { isUtf8 } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import { encodeDamagedLine, invalidUtf8Line, REJECTED_PREFIX_BYTES } from '../domain/damaged-line.js';

export interface LineSplitterOptions {
  /** A line longer than this is never buffered: its first REJECTED_PREFIX_BYTES are kept, the rest only counted and hashed. */
  maxLineBytes: number;
  /** Drop a UTF-8 byte order mark at the very start of the input (files and stdin; not Kafka messages). */
  stripBom: boolean;
}

export interface LineSplitter {
  /** Splits a chunk of input bytes; complete lines are appended to `out`. */
  push(chunk: Buffer, out: string[]): void;
  /** The input ended: the last line, if it had no newline. */
  end(out: string[]): void;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * NDJSON lines from bytes. Lines are split on the newline byte (it never occurs inside a
 * multi-byte UTF-8 character) and decoded only once known to be UTF-8, so nothing is ever
 * replaced with U+FFFD: a line that is not UTF-8 is handed on as a damaged line (its bytes kept
 * whole), and so is one longer than maxLineBytes (a prefix, its real length and hash), which
 * processLine turns into rejected lines. Memory is bounded by maxLineBytes plus one chunk.
 * Blank lines are skipped; a trailing CR (CRLF input) is dropped.
 */
export function createLineSplitter(options: LineSplitterOptions): LineSplitter {
  const max = options.maxLineBytes;
  // The line in progress, carried from earlier chunks.
  let parts: Buffer[] = [];
  let partBytes = 0;
  // Once the line in progress passed max: its kept prefix, length so far and running hash.
  let overlong: { prefix: Buffer; length: number; hash: Hash } | null = null;
  // Bytes at the very start, held until it is clear whether they are a BOM.
  let head: Buffer | null = options.stripBom ? Buffer.alloc(0) : null;

  const append = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    if (overlong !== null) {
      overlong.hash.update(bytes);
      overlong.length += bytes.length;
      return;
    }
    parts.push(Buffer.from(bytes));
    partBytes += bytes.length;
    if (partBytes > max) {
      const all = Buffer.concat(parts);
      overlong = { prefix: Buffer.from(all.subarray(0, REJECTED_PREFIX_BYTES)), length: all.length, hash: createHash('sha256').update(all) };
      parts = [];
      partBytes = 0;
    }
  };

  const finishCarried = (out: string[]) => {
    if (overlong !== null) {
      out.push(encodeDamagedLine({ reason: 'line_too_long', length: overlong.length, sha256: overlong.hash.digest('hex'), kept: overlong.prefix }));
      overlong = null;
      return;
    }
    const line = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    parts = [];
    partBytes = 0;
    emitLine(line, out);
  };

  const emitLine = (bytes: Buffer, out: string[]) => {
    const line = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, bytes.length - 1) : bytes;
    if (line.length > max) out.push(tooLong(line));
    else if (!isUtf8(line)) out.push(invalidUtf8Line(Buffer.from(line)));
    else pushText(line.toString('utf8'), out);
  };

  // Whole lines between newlines, the common case: one UTF-8 check and one decode for all of them.
  const emitLines = (region: Buffer, out: string[]) => {
    if (!isUtf8(region)) {
      let start = 0;
      for (let newline = region.indexOf(NEWLINE); newline !== -1; start = newline + 1, newline = region.indexOf(NEWLINE, start)) emitLine(region.subarray(start, newline), out);
      emitLine(region.subarray(start), out);
      return;
    }
    for (const part of region.toString('utf8').split('\n')) {
      const line = part.endsWith('\r') ? part.slice(0, -1) : part;
      // A UTF-16 unit is at most 3 UTF-8 bytes: only a line that might be too long is measured.
      if (line.length * 3 > max && Buffer.byteLength(line, 'utf8') > max) out.push(tooLong(Buffer.from(line, 'utf8')));
      else pushText(line, out);
    }
  };

  const pushChunk = (chunk: Buffer, out: string[]) => {
    let start = 0;
    if (partBytes > 0 || overlong !== null) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline === -1) return append(chunk);
      append(chunk.subarray(0, newline));
      finishCarried(out);
      start = newline + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last >= start) {
      emitLines(chunk.subarray(start, last), out);
      start = last + 1;
    }
    append(chunk.subarray(start));
  };

  return {
    push(chunk, out) {
      if (head !== null) {
        head = Buffer.concat([head, chunk]);
        if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) return;
        chunk = head.subarray(0, BOM.length).equals(BOM) ? head.subarray(BOM.length) : head;
        head = null;
      }
      pushChunk(chunk, out);
    },
    end(out) {
      if (head !== null) {
        const rest = head;
        head = null;
        pushChunk(rest, out);
      }
      if (partBytes > 0 || overlong !== null) finishCarried(out);
    },
  };
}

/** Splits one message (a Kafka record value) the same way: no BOM handling, no carry. */
export function splitLineBytes(bytes: Buffer, maxLineBytes: number): string[] {
  const splitter = createLineSplitter({ maxLineBytes, stripBom: false });
  const lines: string[] = [];
  splitter.push(bytes, lines);
  splitter.end(lines);
  return lines;
}

function tooLong(line: Buffer): string {
  return encodeDamagedLine({ reason: 'line_too_long', length: line.length, sha256: createHash('sha256').update(line).digest('hex'), kept: Buffer.from(line.subarray(0, REJECTED_PREFIX_BYTES)) });
}

function pushText(line: string, out: string[]): void {
  if (line.trim() !== '') out.push(line);
}
