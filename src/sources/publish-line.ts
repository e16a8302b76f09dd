// What `produce` publishes for one input line, to Kafka or Pub/Sub: the same value, the same key.
import { decodeDamagedLine } from '../domain/damaged-line.js';

export interface ProduceResult {
  messages: number;
  /** Lines sent without a key (no anonymousId/userId: malformed lines): spread over partitions (Kafka), no ordering key (Pub/Sub). */
  unkeyed: number;
}

/**
 * The message for an input line: a line the file source could not decode is published as the
 * bytes it read (unkeyed); one too long to keep is not published (null, said once in the log).
 */
export function publishableLine(line: string, log: (message: string) => void): { key: string | null; value: string | Buffer } | null {
  const damaged = decodeDamagedLine(line);
  if (damaged?.reason === 'line_too_long') {
    log(`produce: a line of ${damaged.length} bytes is longer than pipeline.max_line_bytes; not published`);
    return null;
  }
  return damaged === null ? { key: keyOf(line), value: line } : { key: null, value: damaged.kept };
}

/** The key of a line (Kafka partition key, Pub/Sub ordering key): its anonymousId, else its userId; null for lines that are not such JSON. */
export function keyOf(line: string): string | null {
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    if (value === null || typeof value !== 'object') return null;
    if (typeof value.anonymousId === 'string' && value.anonymousId !== '') return value.anonymousId;
    if (typeof value.userId === 'string' && value.userId !== '') return value.userId;
    return null;
  } catch {
    return null;
  }
}
