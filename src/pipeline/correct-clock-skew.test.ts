import { describe, expect, it } from 'vitest';
import { createCorrectClockSkew } from './correct-clock-skew.js';

const HOUR = 3_600_000;
const clamp = createCorrectClockSkew({ futureToleranceMs: 23 * HOUR, futureEvents: 'clamp' });
const strict = createCorrectClockSkew({ futureToleranceMs: 23 * HOUR, futureEvents: 'reject' });
const received = Date.UTC(2026, 0, 5, 12, 0, 0);
const arrivedAt = Date.UTC(2026, 10, 28);

describe('correctClockSkew', () => {
  it('removes the device clock offset: receivedAt − (sentAt − timestamp)', () => {
    // Device clock 2 days fast; the event happened 30 s before it was sent.
    const offset = 48 * HOUR;
    const result = clamp({ timestamp: received - 30_000 + offset, sentAt: received + offset, receivedAt: received, arrivedAt });
    expect(result).toEqual({ ok: true, value: { eventTime: received - 30_000, timeSource: 'skew_corrected', skewMs: offset } });
  });

  it('falls back to receivedAt when timestamp is after sentAt (impossible)', () => {
    const result = clamp({ timestamp: received + 5_000, sentAt: received, receivedAt: received, arrivedAt });
    expect(result).toEqual({ ok: true, value: { eventTime: received, timeSource: 'client_time_rejected', skewMs: 0 } });
  });

  it('uses the timestamp when sentAt is missing and it is believable', () => {
    const result = clamp({ timestamp: received - HOUR, sentAt: null, receivedAt: received, arrivedAt });
    expect(result).toEqual({ ok: true, value: { eventTime: received - HOUR, timeSource: 'timestamp', skewMs: 0 } });
  });

  it('uses receivedAt when there is no timestamp', () => {
    expect(clamp({ timestamp: null, sentAt: received, receivedAt: received, arrivedAt })).toMatchObject({ ok: true, value: { eventTime: received, timeSource: 'received_at' } });
  });

  it('believes the client time when there is no receivedAt, bounded by when the line was read', () => {
    expect(clamp({ timestamp: received, sentAt: received + 500, receivedAt: null, arrivedAt })).toEqual({ ok: true, value: { eventTime: received, timeSource: 'timestamp', skewMs: 0 } });
    expect(clamp({ timestamp: null, sentAt: received, receivedAt: null, arrivedAt })).toMatchObject({ ok: true, value: { eventTime: received } });
    expect(clamp({ timestamp: null, sentAt: null, receivedAt: null, arrivedAt })).toMatchObject({ ok: true, value: { eventTime: arrivedAt, timeSource: 'received_at' } });
    expect(strict({ timestamp: arrivedAt + 48 * HOUR, sentAt: null, receivedAt: null, arrivedAt })).toMatchObject({ ok: false, reason: 'future_timestamp' });
  });

  it('clamps a far-future timestamp to receivedAt, or rejects it when configured to', () => {
    const future = { timestamp: received + 24 * HOUR, sentAt: null, receivedAt: received, arrivedAt };
    expect(clamp(future)).toEqual({ ok: true, value: { eventTime: received, timeSource: 'clamped_future', skewMs: 24 * HOUR } });
    expect(strict(future)).toMatchObject({ ok: false, reason: 'future_timestamp' });
    // Just inside the tolerance is believed.
    expect(strict({ ...future, timestamp: received + 22 * HOUR })).toMatchObject({ ok: true, value: { timeSource: 'timestamp' } });
  });
});
