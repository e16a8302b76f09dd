import { describe, expect, it } from 'vitest';
import { parseTimeBounds, parseTimeFlag, parseTimeRange } from './context.js';

describe('--from/--to/--tz', () => {
  it('reports a bad --tz as a bad --tz, not as a bad --from', () => {
    expect(() => parseTimeFlag('from', '2026-01-05', 'Europe/Berln')).toThrow('--tz "Europe/Berln" is not a time zone');
    expect(() => parseTimeRange({ from: 'yesterday', tz: 'Mars/Olympus' })).toThrow(/^--tz "Mars\/Olympus"/);
  });

  it('accepts the times journeyctl prints (space, milliseconds, optional offset)', () => {
    expect(parseTimeFlag('from', '2026-01-05 02:26:30.954', 'UTC')).toBe(Date.parse('2026-01-05T02:26:30.954Z'));
    expect(parseTimeFlag('from', '2026-01-05 02:26:30 +01:00', 'UTC')).toBe(Date.parse('2026-01-05T01:26:30Z'));
    expect(parseTimeFlag('from', '2026-01-05 02:26', 'Europe/Berlin')).toBe(Date.parse('2026-01-05T01:26:00Z'));
    expect(() => parseTimeFlag('from', 'last tuesday-ish', 'UTC')).toThrow('--from "last tuesday-ish" is not a time');
  });

  it('--from D --to D with a date alone is that whole day, in --tz', () => {
    expect(parseTimeRange({ from: '2026-01-05', to: '2026-01-05', tz: 'UTC' })).toEqual({ from: Date.parse('2026-01-05T00:00:00Z'), to: Date.parse('2026-01-06T00:00:00Z') });
    expect(parseTimeRange({ from: '2026-03-29', to: '2026-03-29', tz: 'Europe/Berlin' })).toEqual({
      from: Date.parse('2026-03-28T23:00:00Z'),
      to: Date.parse('2026-03-29T22:00:00Z'), // a 23-hour day (summer time starts)
    });
    // A later --to date keeps its meaning: up to (not including) that day.
    expect(parseTimeRange({ from: '2026-01-05', to: '2026-01-06', tz: 'UTC' }).to).toBe(Date.parse('2026-01-06T00:00:00Z'));
    expect(parseTimeRange({ from: '2026-01-05T10:00:00Z', to: '2026-01-05T10:00:01Z', tz: 'UTC' }).to).toBe(Date.parse('2026-01-05T10:00:01Z'));
  });

  it('refuses a range whose start is not before its end, naming the flags the command has', () => {
    expect(() => parseTimeRange({ from: '2026-01-06', to: '2026-01-05', tz: 'UTC' })).toThrow('--from must be before --to');
    expect(() => parseTimeRange({ from: '2026-01-05T10:00:00Z', to: '2026-01-05T10:00:00Z', tz: 'UTC' })).toThrow('--from must be before --to');
    const since = { flag: 'since', value: '2026-01-05T11:00:00Z' };
    expect(() => parseTimeBounds(since, { flag: 'until', value: '2026-01-05T10:00:00Z' }, 'UTC')).toThrow('--since must be before --until');
    // Either end open is a range too.
    expect(parseTimeBounds(since, { flag: 'until', value: undefined }, 'UTC')).toEqual({ from: Date.parse('2026-01-05T11:00:00Z'), to: undefined });
  });
});
