import type { RejectedLine } from '../domain/event.js';
import { formatIsoUtc } from '../domain/time.js';
import type { KafkaTailMessage } from '../sources/kafka-tail.js';
import type { PubSubTailMessage } from '../sources/pubsub-tail.js';
import type { TailedEvent } from '../stores/raw-store.js';
import { eventCoreFields, rejectedRecord } from './records.js';
import type { Redactor } from './redact.js';

/**
 * What `journeyctl tail` writes, one flat JSON record per line, the same data behind the
 * pretty view: snake_case, ISO-8601 UTC times, `source` first. `cursor` (stores) or
 * `partition`/`offset` (Kafka) say where to resume (`--from <cursor>`); Pub/Sub has no position
 * (`subscription` names the tail's own, `pubsub_message_id` the message).
 */
export type TailRecord = Record<string, unknown> & { source: 'raw' | 'rejected' | 'kafka' | 'pubsub' };

export function rawEventTailRecord(cursor: string, event: TailedEvent, sessionId: string | null, redactor: Redactor): TailRecord {
  return redactor.object({
    source: 'raw',
    cursor,
    received_at: formatIsoUtc(event.receivedAt),
    ...eventCoreFields(event, sessionId),
    properties: parseObject(event.propertiesJson),
    context: parseObject(event.raw).context ?? {},
    traits: parseObject(event.traitsJson),
  } as TailRecord);
}

export function rejectedTailRecord(cursor: string, line: RejectedLine, redactor: Redactor): TailRecord {
  // The export record's fields in the export's order; only the raw line is redacted.
  return { source: 'rejected', cursor, ...rejectedRecord(line), raw: redactor.line(line.raw) };
}

export interface KafkaTailInput extends KafkaTailMessage {
  /** What the pipeline would call the event, and its app version (see tail-filter). */
  event: string | null;
  appVersion: string | null;
}

export function kafkaTailRecord(message: KafkaTailInput, redactor: Redactor): TailRecord {
  return {
    source: 'kafka',
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: formatIsoUtc(message.timestamp),
    key: message.key,
    ...messageValueFields(message, redactor),
  };
}

export type PubSubTailInput = PubSubTailMessage & Pick<KafkaTailInput, 'event' | 'appVersion'>;

/** A Pub/Sub message: `timestamp` is its publish time, `key` its ordering key; the value fields as Kafka's. */
export function pubsubTailRecord(message: PubSubTailInput, redactor: Redactor): TailRecord {
  return {
    source: 'pubsub',
    topic: message.topic,
    subscription: message.subscription,
    pubsub_message_id: message.pubsubMessageId,
    timestamp: formatIsoUtc(message.publishTime),
    key: message.orderingKey,
    ...messageValueFields(message, redactor),
  };
}

/** What a stream message (Kafka, Pub/Sub) says of its event: ids, name, version, the value (or the raw text when it is not JSON). */
function messageValueFields(message: { json: Record<string, unknown> | null; text: string; event: string | null; appVersion: string | null }, redactor: Redactor): Record<string, unknown> {
  const value = message.json;
  const text = (key: string) => (value && typeof value[key] === 'string' ? (value[key] as string) : null);
  return {
    message_id: text('messageId'),
    user_id: text('userId'),
    anonymous_id: text('anonymousId'),
    event: message.event,
    app_version: message.appVersion,
    value: value === null ? null : redactor.object(value),
    raw: value === null ? redactor.line(message.text) : null,
  };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** One row of the pretty view: what a person scans for at 3 a.m. */
export interface TailRowCells {
  time: string;
  user: string;
  session: string;
  event: string;
  detail: string;
  /** A rejected line or a message that is not an event: shown in red with its reason. */
  problem: boolean;
}

export function tailRowCells(record: TailRecord): TailRowCells {
  const str = (value: unknown) => (typeof value === 'string' ? value : '');
  if (record.source === 'rejected') {
    const sent = parseObject(str(record.raw));
    return {
      time: shortTime(str(record.received_at)),
      user: str(sent.userId) || str(sent.anonymousId),
      session: '',
      event: str(record.event),
      detail: `✗ ${str(record.reason)}: ${str(record.detail)}  ${str(record.raw)}`,
      problem: true,
    };
  }
  if (record.source === 'kafka' || record.source === 'pubsub') {
    const value = record.value as Record<string, unknown> | null;
    return {
      time: shortTime(str(record.timestamp)),
      user: str(record.user_id) || str(record.anonymous_id),
      session: '',
      event: str(record.event),
      detail: value === null ? `✗ not a JSON event: ${str(record.raw)}` : keyProperties(value.properties),
      problem: value === null,
    };
  }
  return {
    time: shortTime(str(record.event_time)),
    user: str(record.user_id) || str(record.anonymous_id),
    session: str(record.session_id),
    event: str(record.event),
    detail: keyProperties(record.properties),
    problem: false,
  };
}

/** `key=value` pairs in the event's own order; strings bare, anything else as JSON. */
export function keyProperties(properties: unknown): string {
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return '';
  return Object.entries(properties as Record<string, unknown>)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

/** `2026-01-05 09:00:00.000`: the ISO time without T and Z (all times are UTC). */
function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/Z$/, '');
}

export interface TailColumns {
  time: number;
  user: number;
  session: number;
  event: number;
  detail: number;
}

/** Column widths for a terminal `width` columns wide; the key properties take what is left. */
export function tailColumns(width: number): TailColumns {
  const gaps = 4 * 2;
  // User ids (UUIDs, usr_…) get room up to 36 characters while the properties keep at least 30.
  const user = Math.max(18, Math.min(36, width - 23 - 12 - 22 - gaps - 30));
  const fixed = { time: 23, user, session: 12, event: 22 };
  return { ...fixed, detail: Math.max(10, width - fixed.time - fixed.user - fixed.session - fixed.event - gaps) };
}

export const TAIL_HEADER: TailRowCells = { time: 'TIME (UTC)', user: 'USER', session: 'SESSION', event: 'EVENT', detail: 'PROPERTIES / REASON', problem: false };

/** A row as plain text (pretty output into a pipe or file): fixed columns, two spaces apart, the last one whole. */
export function formatTailLine(cells: TailRowCells, columns: TailColumns): string {
  return [fit(cells.time, columns.time), fit(cells.user, columns.user), fit(cells.session, columns.session), fit(cells.event, columns.event), cells.detail.replace(/\s+/g, ' ')].join('  ').trimEnd();
}

export function fit(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > width ? `${flat.slice(0, Math.max(0, width - 1))}…` : flat.padEnd(width);
}
