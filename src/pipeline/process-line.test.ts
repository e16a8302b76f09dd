import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE, type TrackingPlan } from '../config/config.js';
import { createHash } from 'node:crypto';
import { encodeDamagedLine, invalidUtf8Line } from '../domain/damaged-line.js';
import { createProcessLine } from './process-line.js';

const arrivedAt = Date.UTC(2026, 0, 6);
const base = {
  type: 'track',
  messageId: 'm-1',
  event: 'checkout_started',
  anonymousId: 'anon-1',
  timestamp: '2026-01-05T10:00:00.000Z',
  sentAt: '2026-01-05T10:00:01.000Z',
  receivedAt: '2026-01-05T10:00:02.000Z',
  properties: { cart_id: 'c1', total: 12.5 },
  context: { app: { version: '2.3.0' } },
};
const plan: TrackingPlan = {
  allowUnplanned: false,
  events: { checkout_started: { required: ['cart_id'], properties: { cart_id: ['string'], total: ['number'] } } },
};
const process = createProcessLine({ pipeline: DEFAULT_PIPELINE, trackingPlan: null });
const planned = createProcessLine({ pipeline: DEFAULT_PIPELINE, trackingPlan: plan });
const line = (overrides: Record<string, unknown>) => JSON.stringify({ ...base, ...overrides });

function reasonOf(outcome: ReturnType<typeof process>): string {
  return outcome.ok ? 'accepted' : outcome.rejected.reason;
}

/** An object nested `depth` levels inside the properties object (so depth + 2 in the line). */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

describe('processLine', () => {
  it('accepts nesting up to pipeline.max_nesting_depth and ids that are safe integers', () => {
    expect(reasonOf(process(line({ properties: { p: nested(62) } }), arrivedAt))).toBe('accepted');
    const outcome = process(line({ userId: 2 ** 53 - 1 }), arrivedAt);
    expect(outcome.ok && outcome.event.userId).toBe('9007199254740991');
    // A brace inside a string is not nesting.
    expect(reasonOf(process(line({ properties: { s: '['.repeat(5000) } }), arrivedAt))).toBe('accepted');
  });

  it('rejects a line the source could not decode with its bytes kept, and a too-long one with its prefix and real length', () => {
    const bytes = Buffer.from('{"messageId":"m-\xff"}', 'latin1');
    const invalid = process(invalidUtf8Line(bytes), arrivedAt);
    expect(invalid.ok).toBe(false);
    if (invalid.ok) return;
    expect(invalid.rejected).toMatchObject({ reason: 'invalid_utf8', raw: bytes.toString('base64'), rawHash: createHash('sha256').update(bytes).digest('hex'), receivedAt: arrivedAt });
    const prefix = Buffer.from('{"p":"' + 'é'.repeat(10));
    const tooLong = process(encodeDamagedLine({ reason: 'line_too_long', length: 600_000_000, sha256: 'f'.repeat(64), kept: prefix.subarray(0, prefix.length - 1) }), arrivedAt);
    expect(tooLong.ok).toBe(false);
    if (tooLong.ok) return;
    // The kept prefix ended inside a character: the partial character is cut, nothing invented.
    expect(tooLong.rejected).toMatchObject({ reason: 'line_too_long', raw: '{"p":"' + 'é'.repeat(9), rawHash: 'f'.repeat(64) });
    expect(tooLong.rejected.detail).toContain('600000000 bytes');
  });

  it('dates a rejected line by arrival when its receivedAt is outside the valid range', () => {
    const outcome = process(line({ receivedAt: 9e15, timestamp: 'garbage' }), arrivedAt);
    expect(!outcome.ok && outcome.rejected.receivedAt).toBe(arrivedAt);
  });

  it('accepts a valid event with the corrected time, identity key and the raw line kept verbatim', () => {
    const text = line({});
    const outcome = process(text, arrivedAt);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.event).toMatchObject({
      messageId: 'm-1',
      event: 'checkout_started',
      identityKey: 'anon-1',
      eventTime: Date.UTC(2026, 0, 5, 10, 0, 1),
      receivedAt: Date.UTC(2026, 0, 5, 10, 0, 2),
      appVersion: '2.3.0',
      raw: text,
    });
  });

  it.each([
    ['invalid_json', '{"type":"track",'],
    ['not_an_object', '[1,2,3]'],
    ['not_an_object', '"just a string"'],
    ['invalid_type', line({ type: 'purchase' })],
    ['missing_message_id', line({ messageId: undefined })],
    ['missing_message_id', line({ messageId: 42 })],
    ['missing_event', line({ event: undefined })],
    ['missing_identity', line({ anonymousId: undefined })],
    ['missing_identity', line({ anonymousId: { id: 1 } })],
    ['illegal_identity', line({ anonymousId: 'undefined' })],
    ['illegal_identity', line({ anonymousId: 'null', userId: '0' })],
    ['invalid_timestamp', line({ timestamp: 'not-a-date' })],
    ['invalid_timestamp', line({ sentAt: '2026-13-45' })],
    ['invalid_properties', line({ properties: [1, 2] })],
    ['payload_too_large', line({ properties: { blob: 'x'.repeat(40_000) } })],
    ['too_deeply_nested', line({ properties: { p: 0 } }).replace('"p":0', `"p":${'['.repeat(5000)}${']'.repeat(5000)}`)],
    ['too_deeply_nested', line({ properties: { p: nested(64) } })],
    ['invalid_id', line({ userId: 1.2345678901234568e29 })],
    ['invalid_id', line({ userId: 2 ** 53 })],
    ['invalid_id', line({ anonymousId: 1.5 })],
    ['invalid_id', line({ userId: 'u-\ud800' })],
    ['invalid_id', line({ messageId: 'm-\udc00' })],
    ['invalid_id', line({ type: 'alias', userId: 'u1', previousId: 1e300 })],
    ['invalid_timestamp', line({ timestamp: 9e15, sentAt: undefined, receivedAt: undefined })],
    ['time_out_of_range', line({ timestamp: '0001-01-01T00:00:00Z', sentAt: undefined, receivedAt: undefined })],
    ['time_out_of_range', line({ timestamp: '0050-01-01T00:00:00Z', sentAt: undefined, receivedAt: undefined })],
    ['time_out_of_range', line({ timestamp: '1969-12-31T23:59:59Z', sentAt: undefined, receivedAt: undefined })],
    ['time_out_of_range', line({ receivedAt: '9999-12-31T00:00:00Z' })],
    ['time_out_of_range', line({ timestamp: '1999-12-31T23:59:58Z', sentAt: '2026-01-05T10:00:01.000Z' })],
    ['invalid_utf8', 'a lone \udc00 surrogate is not UTF-8 text'],
  ])('rejects with %s', (reason, text) => {
    expect(reasonOf(process(text, arrivedAt))).toBe(reason);
  });

  it('keeps the rejected line whole with best-effort fields for finding a buggy release', () => {
    const text = line({ timestamp: 'garbage', context: { app: { version: '2.4.0-buggy' } } });
    const outcome = process(text, arrivedAt);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.rejected).toMatchObject({ raw: text, reason: 'invalid_timestamp', messageId: 'm-1', appVersion: '2.4.0-buggy', receivedAt: Date.UTC(2026, 0, 5, 10, 0, 2) });
  });

  it('drops an illegal userId next to a legal anonymousId instead of stitching on it', () => {
    const outcome = process(line({ userId: 'anonymous' }), arrivedAt);
    expect(outcome.ok && outcome.event.userId).toBe(null);
    expect(outcome.ok && outcome.event.identityKey).toBe('anon-1');
  });

  it('uses arrival time when no time at all is given, and the client timestamp when only receivedAt is missing', () => {
    const outcome = process(line({ receivedAt: undefined, sentAt: undefined, timestamp: undefined }), arrivedAt);
    expect(outcome.ok && outcome.event.eventTime).toBe(arrivedAt);
    const replayed = process(line({ receivedAt: undefined }), arrivedAt);
    expect(replayed.ok && [replayed.event.eventTime, replayed.event.receivedAt]).toEqual([Date.UTC(2026, 0, 5, 10), arrivedAt]);
  });

  it('names page calls without an event name page_viewed', () => {
    const outcome = process(line({ type: 'page', event: undefined }), arrivedAt);
    expect(outcome.ok && outcome.event.event).toBe('page_viewed');
  });

  it.each([
    ['accepted', {}],
    ['unplanned_event', { event: 'buton_clicked' }],
    ['required_missing', { properties: { total: 3 } }],
    ['datatype_mismatch', { properties: { cart_id: 'c1', total: '12.50' } }],
    ['accepted', { properties: { cart_id: 'c1', total: 12 } }],
  ])('checks the tracking plan: %s', (reason, overrides) => {
    expect(reasonOf(planned(line(overrides), arrivedAt))).toBe(reason);
  });
});
