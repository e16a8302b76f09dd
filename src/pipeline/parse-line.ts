import type { RawEventInput } from '../domain/event.js';
import { nestingExceeds } from '../domain/json-depth.js';
import { accept, reject, type Outcome } from './outcome.js';

export interface ParseLineDeps {
  maxEventBytes: number;
  /** Objects and arrays nested deeper than this are refused before JSON.parse sees them. */
  maxNestingDepth: number;
}

/**
 * Turns one NDJSON line into an untrusted object. The size and nesting checks run before
 * JSON.parse, so a huge line costs nothing and no recursive walk later (JSON.stringify of
 * properties, redaction, rendering) meets more than maxNestingDepth levels.
 */
export function createParseLine(deps: ParseLineDeps) {
  return function parseLine(line: string): Outcome<RawEventInput> {
    // A UTF-16 unit is at most 3 UTF-8 bytes: only a line that could be too large is measured.
    if (line.length * 3 > deps.maxEventBytes && Buffer.byteLength(line, 'utf8') > deps.maxEventBytes) {
      return reject('payload_too_large', `line is larger than ${deps.maxEventBytes} bytes (pipeline.max_event_bytes)`);
    }
    if (nestingExceeds(line, deps.maxNestingDepth)) {
      return reject('too_deeply_nested', `objects/arrays are nested deeper than ${deps.maxNestingDepth} levels (pipeline.max_nesting_depth)`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      return reject('invalid_json', (error as Error).message);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return reject('not_an_object', `expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
    }
    return accept(parsed as RawEventInput);
  };
}
