import { createHash } from 'node:crypto';

/**
 * A line a source could not hand on as text: bytes that are not UTF-8 (`invalid_utf8`), or a line
 * longer than pipeline.max_line_bytes (`line_too_long`, only a prefix kept). Sources pass it down
 * the pipeline as an ordinary line string that starts with a lone surrogate, which a decoded
 * UTF-8 line can never contain, so batches, worker threads and ingest need no second channel;
 * processLine turns it into a rejected line.
 */
export interface DamagedLine {
  reason: 'invalid_utf8' | 'line_too_long';
  /** The line's real length in bytes (without its newline). */
  length: number;
  /** sha256 of the whole line's bytes, so a rerun of the same input stores it once. */
  sha256: string;
  /** invalid_utf8: every byte of the line; line_too_long: its first REJECTED_PREFIX_BYTES. */
  kept: Buffer;
}

/** How much of a line over max_line_bytes the rejected store keeps. */
export const REJECTED_PREFIX_BYTES = 64 * 1024;

const MARK = '\udfff';

export function encodeDamagedLine(line: DamagedLine): string {
  return `${MARK}${JSON.stringify({ reason: line.reason, length: line.length, sha256: line.sha256, kept: line.kept.toString('base64') })}`;
}

/** The damaged line a source encoded, or null for any other string. */
export function decodeDamagedLine(line: string): DamagedLine | null {
  if (!line.startsWith(MARK)) return null;
  try {
    const value = JSON.parse(line.slice(MARK.length)) as { reason?: unknown; length?: unknown; sha256?: unknown; kept?: unknown };
    if ((value.reason !== 'invalid_utf8' && value.reason !== 'line_too_long') || typeof value.length !== 'number' || typeof value.sha256 !== 'string' || typeof value.kept !== 'string') return null;
    return { reason: value.reason, length: value.length, sha256: value.sha256, kept: Buffer.from(value.kept, 'base64') };
  } catch {
    return null;
  }
}

/** A line of bytes that is not UTF-8, kept whole. */
export function invalidUtf8Line(bytes: Buffer): string {
  return encodeDamagedLine({ reason: 'invalid_utf8', length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), kept: bytes });
}

/**
 * How a rejected line's `raw` is written: text, or base64 of the exact bytes for a line that
 * was not UTF-8. The rejected store keeps no second column for it: the reason says it.
 */
export function rawEncodingOf(reason: string): 'utf8' | 'base64' {
  return reason === 'invalid_utf8' ? 'base64' : 'utf8';
}
