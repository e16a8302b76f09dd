import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEventTimestamp } from './time.js';

// `…sssZ` takes a digit-by-digit path; the same instant written `…sss+00:00` takes the regex
// path it replaced, so the two must always agree (value, or null for an impossible date).
const viaRegexPath = (canonical: string) => parseEventTimestamp(`${canonical.slice(0, 23)}+00:00`);
const pad = (value: number, width: number) => String(value).padStart(width, '0');

describe('parseEventTimestamp on YYYY-MM-DDTHH:MM:SS.sssZ', () => {
  it('agrees with the general path on every field value, valid or not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 999 }),
        (year, month, day, hour, minute, second, millis) => {
          const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}.${pad(millis, 3)}Z`;
          expect(parseEventTimestamp(text)).toBe(viaRegexPath(text));
        },
      ),
      { seed: 19, numRuns: 20_000 },
    );
  });

  it('knows leap years, month ends, the year-100 boundary and the last representable second', () => {
    const cases = {
      '2024-02-29T00:00:00.000Z': Date.UTC(2024, 1, 29),
      '2000-02-29T12:00:00.500Z': Date.UTC(2000, 1, 29, 12, 0, 0, 500),
      '1900-02-29T00:00:00.000Z': null,
      '2026-04-31T00:00:00.000Z': null,
      '2026-12-31T23:59:59.999Z': Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      '2026-01-05T24:00:00.000Z': null,
      '0100-01-01T00:00:00.000Z': viaRegexPath('0100-01-01T00:00:00.000Z'),
      '0099-12-31T23:59:59.999Z': viaRegexPath('0099-12-31T23:59:59.999Z'),
      '9999-12-31T23:59:59.999Z': Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    };
    for (const [text, expected] of Object.entries(cases)) expect(parseEventTimestamp(text), text).toBe(expected);
    expect(parseEventTimestamp('0099-12-31T23:59:59.999Z')).toBe(-59011459200001);
  });

  it('leaves other 24-character shapes to the general path', () => {
    expect(parseEventTimestamp('2026-01-05T10:00:00.000z')).toBe(viaRegexPath('2026-01-05T10:00:00.000Z'));
    expect(parseEventTimestamp('2026-01-05 10:00:00.000Z')).toBeNull(); // luxon's ISO needs the T
    expect(parseEventTimestamp('2026-01-05T10:00:0x.000Z')).toBeNull();
    expect(parseEventTimestamp('+02026-01-05T10:00:00.0Z')).toBeNull();
  });
});
