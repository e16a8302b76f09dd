import type { Redactor } from '../render/redact.js';
import type { TailRecord } from '../render/tail-records.js';
import { matchesInputEvent, type TailMatch } from './tail-filter.js';

/**
 * Records in order from one source; `finished` when a tail without --follow has read everything.
 * `wanted`: how many more records the tail will show at most (--limit without --interval); a
 * store reads no more than that when every filter is its own (no --grep, no --sample).
 */
export interface TailFeed {
  readonly description: string;
  read(wanted?: number): Promise<{ records: TailRecord[]; caughtUp: boolean; finished: boolean }>;
  dropped(): number;
  /** Records in the source past what was read (stores: rows after the cursor at the last read), when known. */
  behind(): number | undefined;
  /** A remark for the person (why sessions are blank, …), shown once. */
  note: string | undefined;
  close(): Promise<void>;
}

/** What every feed applies: the filters, where to start, grep, sampling and redaction. */
export interface FeedSettings {
  match: TailMatch;
  from: string;
  grep: RegExp | null;
  keepSample: (key: string) => boolean;
  redactor: Redactor;
}

/**
 * Whether a stream message (Kafka, Pub/Sub) is kept: its broker time in [from, to), the JSON
 * filters (a message that is not a JSON event matches none), grep on its text, and sampling by
 * the event's messageId (else `fallbackKey`, the message's position).
 */
export function streamMessageFilter(settings: FeedSettings): (message: { time: number; json: Record<string, unknown> | null; text: string }, fallbackKey: () => string) => boolean {
  const { match, grep, keepSample } = settings;
  const filtersJson = match.ids !== undefined || match.event !== undefined || match.appVersion !== undefined || match.where.length > 0;
  return (message, fallbackKey) => {
    if (match.from !== undefined && message.time < match.from) return false;
    if (match.to !== undefined && message.time >= match.to) return false;
    if (filtersJson && (message.json === null || !matchesInputEvent(message.json, match))) return false;
    if (grep !== null && !grep.test(message.text)) return false;
    const messageId = message.json?.messageId;
    return keepSample(typeof messageId === 'string' ? messageId : fallbackKey());
  };
}
