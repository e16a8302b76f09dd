import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../config/config.js';
import { REJECT_REASONS } from '../domain/event.js';
import { formatIsoUtc } from '../domain/time.js';
import { rejectedRecord } from '../render/records.js';
import { createLineSplitter } from '../sources/line-splitter.js';
import { fromWire, processToWire } from './line-processor.js';
import { createProcessLine } from './process-line.js';

/**
 * Issue 18, fuzzing: valid events mutated in their bytes, field types, nesting, sizes and
 * unicode, between two valid neighbours, go through what `run` does with a file (line splitter
 * → per-line stages → the wire form the raw store takes) and what readers do with the result.
 * Whatever the mutation: nothing throws, every line is accepted or rejected with a known reason,
 * an accepted line's raw is its bytes verbatim, and the neighbours are accepted.
 * Seeded: a failure prints its seed and path, and the same seed replays it.
 */

const SEED = 20_261_118;
const RUNS = 3_000;
// Small limits so sizes around them are cheap to generate.
const pipeline = { ...DEFAULT_PIPELINE, maxEventBytes: 2_000, maxLineBytes: 4_000, maxNestingDepth: 16 };
const processLine = createProcessLine({ pipeline, trackingPlan: null });
const arrivedAt = Date.UTC(2026, 0, 6);
const known = new Set<string>(REJECT_REASONS);

const base = {
  type: 'track',
  messageId: 'm-1',
  event: 'checkout_started',
  userId: 'user-1',
  anonymousId: 'anon-1',
  timestamp: '2026-01-05T10:00:00.000Z',
  sentAt: '2026-01-05T10:00:01.000Z',
  receivedAt: '2026-01-05T10:00:02.000Z',
  properties: { cart: 'c1', total: 12.5, items: [{ sku: 'a' }] },
  context: { app: { version: '2.3.0' } },
};
const FIELDS = ['type', 'messageId', 'event', 'userId', 'anonymousId', 'previousId', 'timestamp', 'sentAt', 'receivedAt', 'properties', 'context', 'traits'] as const;
const neighbour = (id: string) => JSON.stringify({ ...base, messageId: id });

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const unicodeText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  loneSurrogate,
  fc.constantFrom('\u2028', '\u0000', '\ufeff', '\r', 'é', '🙂'),
);
const oddNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1.2345678901234568e29, 9e15, 8.64e15, -1, 0, 1e308, Number.MIN_VALUE));
const oddTime = fc.oneof(
  oddNumber,
  fc.constantFrom('0001-01-01T00:00:00Z', '0050-06-01T00:00:00Z', '1969-12-31T23:59:59Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '2026-02-30T00:00:00Z'),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), unicodeText, oddNumber, oddTime);

/** JSON text of `depth` nested arrays or objects. */
const nested = (depth: number, objects: boolean) => (objects ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`);

/** One mutated line, as bytes. */
const mutated: fc.Arbitrary<Buffer> = fc.oneof(
  // Types: a field set to any value (or removed).
  fc.record({ field: fc.constantFrom(...FIELDS), value: fc.option(anyValue, { nil: undefined }) }).map(({ field, value }) => Buffer.from(JSON.stringify({ ...base, [field]: value }))),
  // Unicode inside ids, names and properties, written as raw characters or as escapes.
  fc.record({ field: fc.constantFrom('messageId', 'event', 'userId', 'anonymousId'), text: unicodeText, escaped: fc.boolean() }).map(({ field, text, escaped }) => {
    const line = JSON.stringify({ ...base, [field]: text });
    return Buffer.from(escaped ? line : line.replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
  }),
  // Nesting around the limit and far beyond it.
  fc
    .record({ depth: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 20, max: 3_000 })), objects: fc.boolean() })
    .map(({ depth, objects }) => Buffer.from(JSON.stringify({ ...base, properties: { p: 0 } }).replace('"p":0', `"p":${nested(depth, objects)}`))),
  // Sizes around max_event_bytes and max_line_bytes.
  fc.integer({ min: 1_500, max: 9_000 }).map((size) => Buffer.from(JSON.stringify({ ...base, properties: { blob: 'x'.repeat(size) } }))),
  // Bytes: inserted, replaced or deleted anywhere in a valid line (invalid UTF-8, cut characters, stray newlines and CRs).
  fc
    .record({
      line: fc.constantFrom(neighbour('m-bytes'), JSON.stringify({ ...base, event: 'é日本🙂' })),
      edits: fc.array(
        fc.record({ at: fc.nat(), op: fc.constantFrom('insert', 'replace', 'delete'), byte: fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.constantFrom(0x0a, 0x0d, 0x22, 0x5c, 0x7b, 0x5b)) }),
        { minLength: 1, maxLength: 4 },
      ),
    })
    .map(({ line, edits }) => {
      const bytes = [...Buffer.from(line)];
      for (const { at, op, byte } of edits) {
        const index = at % (bytes.length + 1);
        if (op === 'insert') bytes.splice(index, 0, byte);
        else if (op === 'replace' && index < bytes.length) bytes[index] = byte;
        else if (op === 'delete') bytes.splice(index, 1);
      }
      return Buffer.from(bytes);
    }),
);

/** What `run --input` does with the bytes, up to the raw store's input, and what export/tail do with it. */
function ingest(input: Buffer) {
  const splitter = createLineSplitter({ maxLineBytes: pipeline.maxLineBytes, stripBom: true });
  const lines: string[] = [];
  splitter.push(input, lines);
  splitter.end(lines);
  const batch = fromWire(processToWire(processLine, lines, arrivedAt), lines);
  for (const event of batch.accepted) {
    JSON.parse(event.propertiesJson);
    JSON.parse(event.traitsJson);
    formatIsoUtc(event.eventTime);
    formatIsoUtc(event.receivedAt);
  }
  for (const line of batch.rejected) JSON.stringify(rejectedRecord(line));
  return { lines, batch };
}

describe('processLine under mutation (property, seeded)', () => {
  it(`accepts or rejects with a known reason, never throws, keeps accepted raw verbatim (${RUNS} cases, seed ${SEED})`, () => {
    fc.assert(
      fc.property(mutated, (line) => {
        const input = Buffer.concat([Buffer.from(`${neighbour('before')}\n`), line, Buffer.from(`\n${neighbour('after')}\n`)]);
        const { lines, batch } = ingest(input);
        // One outcome per non-blank line, none lost.
        expect(batch.accepted.length + batch.rejected.length).toBe(lines.length);
        for (const rejected of batch.rejected) expect(known.has(rejected.reason), rejected.reason).toBe(true);
        // Accepted raw is the line's bytes as read (without its line ending), and its hash is of those bytes.
        const inputLines = input
          .toString('latin1')
          .split('\n')
          .map((text) => Buffer.from(text.endsWith('\r') ? text.slice(0, -1) : text, 'latin1'));
        for (const event of batch.accepted) {
          const bytes = Buffer.from(event.raw, 'utf8');
          expect(inputLines.some((candidate) => candidate.equals(bytes))).toBe(true);
          expect(event.rawHash).toBe(createHash('sha256').update(bytes).digest('hex'));
        }
        const ids = batch.accepted.map((event) => event.messageId);
        expect(ids[0]).toBe('before');
        expect(ids[ids.length - 1]).toBe('after');
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
