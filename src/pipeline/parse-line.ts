import type { RawEventInput } from '../domain/event.js';
import { accept, reject, type Outcome } from './outcome.js';

export interface ParseLineDeps {
  maxEventBytes: number;
}

/** Turns one NDJSON line into an untrusted object; the size check runs before JSON.parse so a huge line costs nothing. */
export function createParseLine(deps: ParseLineDeps) {
  return function parseLine(line: string): Outcome<RawEventInput> {
    if (Buffer.byteLength(line, 'utf8') > deps.maxEventBytes) {
      return reject('payload_too_large', `line is larger than ${deps.maxEventBytes} bytes (pipeline.max_event_bytes)`);
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
