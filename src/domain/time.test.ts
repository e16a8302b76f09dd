import { describe, expect, it } from 'vitest';
import { formatIsoUtc, parseDurationMs, parseEventTimestamp, parseUserTime } from './time.js';

describe('time parsing', () => {
  it('parses durations', () => {
    expect(parseDurationMs('30m')).toBe(1_800_000);
    expect(parseDurationMs('24h')).toBe(86_400_000);
    expect(parseDurationMs('PT30M')).toBe(1_800_000);
    expect(parseDurationMs('soon')).toBeNull();
  });

  it('parses wire timestamps with offsets and epoch ms, refusing junk', () => {
    expect(parseEventTimestamp('2026-01-05T10:00:00.000+02:00')).toBe(Date.UTC(2026, 0, 5, 8));
    expect(parseEventTimestamp(Date.UTC(2026, 0, 5))).toBe(Date.UTC(2026, 0, 5));
    expect(parseEventTimestamp('not-a-date')).toBeNull();
    expect(parseEventTimestamp('2026-02-30T00:00:00Z')).toBeNull();
    expect(parseEventTimestamp('2024-02-29T23:59:59.999Z')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
    expect(parseEventTimestamp('2026-01-05T24:00:00Z')).toBeNull();
    expect(parseEventTimestamp('2026-01-05T10:00:00.1234-0130')).toBe(Date.UTC(2026, 0, 5, 11, 30, 0, 123));
    expect(parseEventTimestamp('2026-01-05T10:00Z')).toBe(Date.UTC(2026, 0, 5, 10));
    // Forms outside the fast path still parse through luxon.
    expect(parseEventTimestamp('2026-W02-1T10:00:00Z')).toBe(Date.UTC(2026, 0, 5, 10));
  });

  it('parses user times: relative, named days in a zone, ISO and epoch', () => {
    const now = Date.UTC(2026, 0, 5, 10, 30);
    expect(parseUserTime('2h', 'UTC', now)).toBe(now - 7_200_000);
    expect(parseUserTime('yesterday', 'Europe/Berlin', now)).toBe(Date.UTC(2026, 0, 3, 23));
    expect(parseUserTime('today', 'UTC', now)).toBe(Date.UTC(2026, 0, 5));
    expect(parseUserTime('2026-01-05T12:00', 'Europe/Berlin', now)).toBe(Date.UTC(2026, 0, 5, 11));
    expect(parseUserTime('1767225600', 'UTC', now)).toBe(1_767_225_600_000);
    expect(parseUserTime('whenever', 'UTC', now)).toBeNull();
  });

  it('parses years 0–99 as written, not as 1900–1999, and refuses times no Date can hold', () => {
    expect(formatIsoUtc(parseEventTimestamp('0001-01-01T00:00:00Z')!)).toBe('0001-01-01T00:00:00.000Z');
    expect(formatIsoUtc(parseEventTimestamp('0050-06-15T12:30:00.250+01:00')!)).toBe('0050-06-15T11:30:00.250Z');
    // Year 0 is a leap year in the proleptic Gregorian calendar; 1900 is not.
    expect(parseEventTimestamp('0000-02-29T00:00:00Z')).not.toBeNull();
    expect(parseEventTimestamp(9e15)).toBeNull();
    expect(parseEventTimestamp(8.64e15)).toBe(8.64e15);
    expect(parseEventTimestamp('+275761-01-01T00:00:00Z')).toBeNull();
  });

  it('formats ISO-8601 UTC with milliseconds', () => {
    expect(formatIsoUtc(Date.UTC(2026, 0, 5, 10))).toBe('2026-01-05T10:00:00.000Z');
  });
});
