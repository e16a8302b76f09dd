/**
 * The hostile line kinds of issue 18 ("one line must never stop the pipeline") with the reason
 * each must be rejected with, and the valid neighbours written between them. Shared by the file
 * and the Kafka hostile-corpus tests.
 */
import { toLine } from './journeys.js';

/** pipeline.max_line_bytes of the corpus's config: the too-long kind is three times this. */
export const MAX_LINE_BYTES = 200_000;
/** The n-th valid neighbour (user-0..3, a few minutes apart, unicode and nesting in properties). */
export const neighbour = (n: number) =>
  toLine({ messageId: `ok-${n}`, event: n % 3 === 0 ? 'checkout_started' : 'page_viewed', userId: `user-${n % 4}`, minutes: n, properties: { n, text: `é日本🙂 ${n}`, nested: { a: [1, { b: n }] } } });
const valid = JSON.parse(neighbour(0)) as Record<string, unknown>;
const withFields = (fields: Record<string, unknown>, id: string) => JSON.stringify({ ...valid, messageId: id, ...fields });
/** A valid event with `text` spliced in raw (for JSON a serialiser would not write). */
const spliced = (id: string, field: string, rawJson: string) => withFields({ [field]: '@@' }, id).replace('"@@"', rawJson);
const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));

export interface HostileKind {
  name: string;
  line: Buffer;
  reason: string;
}

export const HOSTILE: HostileKind[] = [
  // Point 1: nesting, before anything recursive touches it.
  { name: 'arrays 5,000 deep in properties', line: bytes(spliced('deep', 'properties', `{"p":${'['.repeat(5000)}${']'.repeat(5000)}}`)), reason: 'too_deeply_nested' },
  { name: 'objects 65 deep', line: bytes(spliced('deep-65', 'properties', `${'{"a":'.repeat(64)}1${'}'.repeat(64)}`)), reason: 'too_deeply_nested' },
  // Point 2: bytes that are not UTF-8, and lone surrogate escapes.
  {
    name: 'invalid byte 0xff in messageId',
    line: bytes('{"type":"track","event":"order_completed","messageId":"m-', [0xff], '","userId":"alice","timestamp":"2026-01-05T10:00:00Z"}'),
    reason: 'invalid_utf8',
  },
  {
    name: 'invalid byte 0xfe in messageId (differs only there)',
    line: bytes('{"type":"track","event":"order_completed","messageId":"m-', [0xfe], '","userId":"bob","timestamp":"2026-01-05T11:00:00Z"}'),
    reason: 'invalid_utf8',
  },
  { name: 'truncated multi-byte sequence at the end', line: bytes(withFields({}, 'trunc-utf8'), [0xe2, 0x82]), reason: 'invalid_utf8' },
  { name: 'UTF-8-encoded surrogate (CESU)', line: bytes('{"messageId":"cesu-', [0xed, 0xa0, 0x80], '","userId":"u"}'), reason: 'invalid_utf8' },
  { name: 'overlong encoding of "/"', line: bytes('{"messageId":"overlong-', [0xc0, 0xaf], '"}'), reason: 'invalid_utf8' },
  { name: 'lone surrogate escape in userId', line: bytes(spliced('lone-user', 'userId', '"u-\\ud800"')), reason: 'invalid_id' },
  { name: 'lone surrogate escape in messageId', line: bytes(withFields({}, 'x').replace('"messageId":"x"', '"messageId":"m-\\udc00"')), reason: 'invalid_id' },
  // Point 3: times outside what the stores hold.
  { name: 'timestamp 9e15', line: bytes(withFields({ timestamp: 9e15, sentAt: undefined, receivedAt: undefined }, 'ts-9e15')), reason: 'invalid_timestamp' },
  { name: 'timestamp year 1', line: bytes(withFields({ timestamp: '0001-01-01T00:00:00Z', sentAt: undefined, receivedAt: undefined }, 'ts-0001')), reason: 'time_out_of_range' },
  { name: 'timestamp year 50', line: bytes(withFields({ timestamp: '0050-06-01T00:00:00Z', sentAt: undefined, receivedAt: undefined }, 'ts-0050')), reason: 'time_out_of_range' },
  { name: 'timestamp 1969', line: bytes(withFields({ timestamp: '1969-07-20T20:17:00Z', sentAt: undefined, receivedAt: undefined }, 'ts-1969')), reason: 'time_out_of_range' },
  { name: 'receivedAt 9999-12-31', line: bytes(withFields({ receivedAt: '9999-12-31T00:00:00Z' }, 'rcv-9999')), reason: 'time_out_of_range' },
  { name: 'receivedAt 9e15', line: bytes(withFields({ receivedAt: 9e15 }, 'rcv-9e15')), reason: 'invalid_timestamp' },
  // Point 4: ids that are not strings or safe integers.
  { name: 'userId 1.2345678901234568e29', line: bytes(spliced('huge-id-1', 'userId', '1.2345678901234568e29')), reason: 'invalid_id' },
  { name: 'userId 2^53', line: bytes(spliced('huge-id-2', 'userId', '9007199254740992')), reason: 'invalid_id' },
  { name: 'anonymousId 1.5', line: bytes(spliced('frac-id', 'anonymousId', '1.5')), reason: 'invalid_id' },
  // Point 5: a line over max_line_bytes, and one between max_event_bytes and it.
  { name: 'line over max_line_bytes', line: bytes(withFields({ properties: { blob: 'x'.repeat(MAX_LINE_BYTES * 3) } }, 'too-long')), reason: 'line_too_long' },
  { name: 'line over max_event_bytes', line: bytes(withFields({ properties: { blob: 'x'.repeat(40_000) } }, 'too-large')), reason: 'payload_too_large' },
  // Point 6: a BOM is dropped at the start of the input only; in the middle it is part of a line.
  { name: 'BOM in the middle of the input', line: bytes('\ufeff', withFields({}, 'mid-bom')), reason: 'invalid_json' },
  // The kinds the pipeline already refused.
  { name: 'truncated JSON', line: bytes('{"type":"track","messageId":"cut"'), reason: 'invalid_json' },
  { name: 'not JSON at all', line: bytes('hello, world'), reason: 'invalid_json' },
  { name: 'a JSON array', line: bytes('[1,2,3]'), reason: 'not_an_object' },
  { name: 'a JSON string', line: bytes('"just text"'), reason: 'not_an_object' },
  { name: 'unknown type', line: bytes(withFields({ type: 'purchase' }, 'bad-type')), reason: 'invalid_type' },
  { name: 'no messageId', line: bytes(withFields({ messageId: undefined }, 'x')), reason: 'missing_message_id' },
  { name: 'numeric messageId', line: bytes(spliced('x', 'messageId', '42')), reason: 'missing_message_id' },
  { name: 'track without event', line: bytes(withFields({ event: undefined }, 'no-event')), reason: 'missing_event' },
  { name: 'no ids', line: bytes(withFields({ userId: undefined }, 'no-ids')), reason: 'missing_identity' },
  { name: 'object as userId', line: bytes(withFields({ userId: { id: 1 } }, 'obj-id')), reason: 'missing_identity' },
  { name: 'placeholder id', line: bytes(withFields({ userId: 'undefined' }, 'placeholder')), reason: 'illegal_identity' },
  { name: 'garbage timestamp', line: bytes(withFields({ timestamp: 'yesterday-ish' }, 'bad-ts')), reason: 'invalid_timestamp' },
  { name: 'properties as an array', line: bytes(withFields({ properties: [1, 2] }, 'props-array')), reason: 'invalid_properties' },
];

/** A rejected record (export rejected / tail) is this hostile line: its bytes, or for line_too_long its prefix and length. */
export function isRecordOf(record: Record<string, unknown>, kind: HostileKind): boolean {
  if (record.raw_encoding === 'base64') return Buffer.from(record.raw as string, 'base64').equals(kind.line);
  if (record.reason === 'line_too_long') return kind.line.toString('utf8').startsWith(record.raw as string) && String(record.detail).includes(`${kind.line.length} bytes`);
  return record.raw === kind.line.toString('utf8');
}

/** The readers that must still exit 0 after a hostile corpus was ingested; `sessionId` is any stored session. */
export function readers(exportKinds: readonly string[], sessionId: string): Array<[string, string[]]> {
  return [
    ...exportKinds.map((kind): [string, string[]] => [`export ${kind}`, ['export', kind]]),
    ['tail', ['tail']],
    ['tail rejected', ['tail', '--source', 'rejected', '--output', 'pretty']],
    ['inspect user', ['inspect', 'user', 'user-1']],
    ['explain', ['explain', sessionId]],
    ['report', ['report']],
    ['check', ['check']],
  ];
}

/** A config section whose checks read every store but only warn, so `check` exits 0 on the corpus. */
export const CORPUS_CONFIG = [
  `pipeline: { max_line_bytes: ${MAX_LINE_BYTES} }`,
  'checks:',
  '  - { name: rejected_rate, type: rejected_rate, warn_if: { above: 0.01 } }',
  '  - { name: duplicate_rate, type: duplicate_rate, warn_if: { above: 0.03 } }',
  '  - { name: late_rate, type: late_rate, warn_if: { above: 0.05 } }',
  '',
].join('\n');
