import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_KINDS } from '../src/commands/export.js';
import { parseNdjson, runCli } from './helpers/cli.js';
import { toLine } from './helpers/journeys.js';

/**
 * Issue 18: one line must never stop the pipeline. Every hostile kind sits between valid
 * neighbours in one file; `run` must exit 0, keep every neighbour, reject every hostile line
 * with its reason code (its bytes kept as they were read), and every reader must still work.
 */

const MAX_LINE_BYTES = 200_000;
const neighbour = (n: number) =>
  toLine({ messageId: `ok-${n}`, event: n % 3 === 0 ? 'checkout_started' : 'page_viewed', userId: `user-${n % 4}`, minutes: n, properties: { n, text: `é日本🙂 ${n}`, nested: { a: [1, { b: n }] } } });
const valid = JSON.parse(neighbour(0)) as Record<string, unknown>;
const withFields = (fields: Record<string, unknown>, id: string) => JSON.stringify({ ...valid, messageId: id, ...fields });
/** A valid event with `text` spliced in raw (for JSON a serialiser would not write). */
const spliced = (id: string, field: string, rawJson: string) => withFields({ [field]: '@@' }, id).replace('"@@"', rawJson);
const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));

interface HostileKind {
  name: string;
  line: Buffer;
  reason: string;
}

const HOSTILE: HostileKind[] = [
  // Point 1: nesting, before anything recursive touches it.
  { name: 'arrays 5,000 deep in properties', line: bytes(spliced('deep', 'properties', `{"p":${'['.repeat(5000)}${']'.repeat(5000)}}`)), reason: 'too_deeply_nested' },
  { name: 'objects 65 deep', line: bytes(spliced('deep-65', 'properties', `${'{"a":'.repeat(64)}1${'}'.repeat(64)}`)), reason: 'too_deeply_nested' },
  // Point 2: bytes that are not UTF-8, and lone surrogate escapes.
  { name: 'invalid byte 0xff in messageId', line: bytes('{"type":"track","event":"order_completed","messageId":"m-', [0xff], '","userId":"alice","timestamp":"2026-01-05T10:00:00Z"}'), reason: 'invalid_utf8' },
  { name: 'invalid byte 0xfe in messageId (differs only there)', line: bytes('{"type":"track","event":"order_completed","messageId":"m-', [0xfe], '","userId":"bob","timestamp":"2026-01-05T11:00:00Z"}'), reason: 'invalid_utf8' },
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

describe('a hostile corpus between valid neighbours (issue 18)', () => {
  let dir: string;
  let neighbours: string[];
  const cli = (args: string[]) => runCli([...args, '--data-dir', join(dir, 'data'), '--config', join(dir, 'journeyctl.yaml')]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jc-hostile-'));
    writeFileSync(
      join(dir, 'journeyctl.yaml'),
      [
        `pipeline: { max_line_bytes: ${MAX_LINE_BYTES} }`,
        // Warnings only: check must run every reader of the stores and exit 0 on this corpus.
        'checks:',
        '  - { name: rejected_rate, type: rejected_rate, warn_if: { above: 0.01 } }',
        '  - { name: duplicate_rate, type: duplicate_rate, warn_if: { above: 0.03 } }',
        '  - { name: late_rate, type: late_rate, warn_if: { above: 0.05 } }',
        '',
      ].join('\n'),
    );
    neighbours = Array.from({ length: HOSTILE.length + 1 }, (_, n) => neighbour(n));
    // Every hostile line between two valid ones; the first valid line starts with a BOM (CRLF endings on some).
    const parts: Buffer[] = [Buffer.from('\ufeff')];
    neighbours.forEach((line, n) => {
      parts.push(Buffer.from(`${line}${n % 2 === 0 ? '\r\n' : '\n'}`));
      const hostile = HOSTILE[n];
      if (hostile) parts.push(hostile.line, Buffer.from('\n'));
    });
    writeFileSync(join(dir, 'input.ndjson'), Buffer.concat(parts));
    const run = await cli(['run', '--input', join(dir, 'input.ndjson')]);
    expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(run.code, run.stderr).toBe(0);
  });

  it('keeps every valid neighbour, the first one despite its BOM', async () => {
    const exported = parseNdjson((await cli(['export', 'events'])).stdout);
    expect(exported.map((e) => e.message_id).sort()).toEqual(neighbours.map((line) => (JSON.parse(line) as { messageId: string }).messageId).sort());
    for (const line of neighbours) {
      const sent = JSON.parse(line) as { messageId: string; properties: unknown };
      expect(exported.find((e) => e.message_id === sent.messageId)?.properties, sent.messageId).toEqual(sent.properties);
    }
    const tailed = parseNdjson((await cli(['tail'])).stdout);
    expect(tailed).toHaveLength(neighbours.length);
  });

  it('rejects every hostile line with its reason, its bytes kept as read', async () => {
    const rejected = parseNdjson((await cli(['export', 'rejected'])).stdout);
    expect(rejected).toHaveLength(HOSTILE.length);
    const unmatched = [...rejected];
    for (const kind of HOSTILE) {
      const index = unmatched.findIndex((record) => {
        if (record.raw_encoding === 'base64') return Buffer.from(record.raw as string, 'base64').equals(kind.line);
        if (record.reason === 'line_too_long') return kind.line.toString('utf8').startsWith(record.raw as string) && String(record.detail).includes(`${kind.line.length} bytes`);
        return record.raw === kind.line.toString('utf8');
      });
      expect(index, `${kind.name}: kept in the rejected store`).toBeGreaterThanOrEqual(0);
      expect(unmatched[index]!.reason, kind.name).toBe(kind.reason);
      unmatched.splice(index, 1);
    }
    const tailed = parseNdjson((await cli(['tail', '--source', 'rejected'])).stdout);
    expect(tailed.map((r) => r.reason).sort()).toEqual(HOSTILE.map((k) => k.reason).sort());
  });

  it('leaves every reader working', async () => {
    const sessions = parseNdjson((await cli(['export', 'sessions'])).stdout);
    const readers: Array<[string, string[]]> = [
      ...EXPORT_KINDS.map((kind): [string, string[]] => [`export ${kind}`, ['export', kind]]),
      ['tail', ['tail']],
      ['tail rejected', ['tail', '--source', 'rejected', '--output', 'pretty']],
      ['inspect user', ['inspect', 'user', 'user-1']],
      ['explain', ['explain', String(sessions[0]!.session_id)]],
      ['report', ['report']],
      ['check', ['check']],
    ];
    let working = 0;
    for (const [name, args] of readers) {
      const result = await cli(args);
      expect(result.stderr, name).not.toMatch(/\n\s+at .+:\d+:\d+/);
      expect(result.code, `${name}: ${result.stderr}`).toBe(0);
      working += 1;
    }
    expect(working).toBe(readers.length);
    // The figures of the closing note of issue 18.
    console.log(`hostile corpus: ${HOSTILE.length} hostile kinds, ${HOSTILE.length} rejected with a reason, ${neighbours.length} valid neighbours kept, ${working} readers still working`);
  });
});
