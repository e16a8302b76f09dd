import { DateTime, Duration } from 'luxon';

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `30m`, `24h`, `3d`, `500ms`, or an ISO-8601 duration (`PT30M`) to milliseconds; null if unparseable. */
export function parseDurationMs(text: string): number | null {
  const trimmed = text.trim();
  const match = DURATION_PATTERN.exec(trimmed);
  if (match) return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
  if (/^P/i.test(trimmed)) {
    const duration = Duration.fromISO(trimmed.toUpperCase());
    if (duration.isValid) return duration.toMillis();
  }
  return null;
}

const COMMON_ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Parses a wire timestamp (ISO-8601 string or epoch ms number) to epoch ms; null if invalid.
 * The shape SDKs send (`2026-01-05T10:00:00.123Z`, or with an offset) is parsed by hand: it is
 * three timestamps per event on the hot path, where luxon is slow (docs/decisions/0009). Anything else goes
 * to luxon, which knows every ISO-8601 form.
 */
export function parseEventTimestamp(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 && value <= MAX_DATE_MS ? Math.trunc(value) : null;
  if (typeof value !== 'string' || value.length < 10 || value.length > 40) return null;
  if (value.length === 24) {
    const millis = canonicalUtcMillis(value);
    if (millis !== undefined) return millis;
  }
  const match = COMMON_ISO.exec(value);
  if (match) {
    const [, y, mo, d, h, mi, sec, fraction, , sign, offsetHours, offsetMinutes] = match;
    const year = Number(y);
    const month = Number(mo);
    const day = Number(d);
    const hour = Number(h);
    const minute = Number(mi);
    const second = sec === undefined ? 0 : Number(sec);
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
    const millis = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
    const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
    return utcMillis(year, month - 1, day, hour, minute, second, millis) - offset;
  }
  const parsed = DateTime.fromISO(value, { zone: 'utc', setZone: true });
  if (!parsed.isValid) return null;
  const millis = parsed.toMillis();
  return Math.abs(millis) <= MAX_DATE_MS ? millis : null;
}

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ` (what Date#toISOString and most SDKs write) read digit by digit:
 * the same result as the COMMON_ISO path (time-canonical.test.ts compares them), at a third of its cost
 * (~0.6 µs per timestamp, three per event: half of validation's CPU). undefined: another shape
 * (or a year before 100, which utcMillis treats apart), left to the general path.
 */
function canonicalUtcMillis(text: string): number | null | undefined {
  if (text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || text.charCodeAt(10) !== 0x54 || text.charCodeAt(13) !== 0x3a) return undefined;
  if (text.charCodeAt(16) !== 0x3a || text.charCodeAt(19) !== 0x2e || text.charCodeAt(23) !== 0x5a) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const millis = digits(text, 20, 3);
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || millis < 0) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > gregorianDaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis);
}

/** The decimal number in text[start, start + count), or -1 if a character there is not a digit. */
function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let index = start; index < start + count; index += 1) {
    const digit = text.charCodeAt(index) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function gregorianDaysInMonth(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1]!;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/** The largest epoch ms a JavaScript Date (and so every export) can format: year 275760. */
export const MAX_DATE_MS = 8.64e15;

/**
 * Date.UTC without its trap: it reads years 0–99 as 1900–1999, so `0050-…` would be 1950.
 * setUTCFullYear takes the year as given.
 */
function utcMillis(year: number, monthIndex: number, day: number, hour = 0, minute = 0, second = 0, millis = 0): number {
  if (year >= 100) return Date.UTC(year, monthIndex, day, hour, minute, second, millis);
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime();
}

function daysInMonth(year: number, month: number): number {
  return new Date(utcMillis(year, month, 0)).getUTCDate();
}

/** ISO-8601 UTC with milliseconds, the one format every export uses. */
export function formatIsoUtc(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/**
 * Parses a user-given point in time: ISO-8601 (zone-less means `zone`), epoch seconds or ms,
 * `now`, `today`, `yesterday`, `tomorrow` (midnight in `zone`), or a relative `2h`/`3d` meaning that long ago.
 */
export function parseUserTime(text: string, zone: string, now: number = Date.now()): number | null {
  const trimmed = text.trim().toLowerCase();
  const nowInZone = DateTime.fromMillis(now, { zone });
  if (!nowInZone.isValid) return null;
  if (trimmed === 'now') return now;
  if (trimmed === 'today') return nowInZone.startOf('day').toMillis();
  if (trimmed === 'yesterday') return nowInZone.startOf('day').minus({ days: 1 }).toMillis();
  if (trimmed === 'tomorrow') return nowInZone.startOf('day').plus({ days: 1 }).toMillis();
  if (/^\d{9,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  if (/^\d{12,13}$/.test(trimmed)) return Number(trimmed);
  const ago = parseDurationMs(trimmed);
  if (ago !== null) return now - ago;
  const iso = DateTime.fromISO(text.trim(), { zone });
  if (iso.isValid) return iso.toMillis();
  // The form journeyctl prints for people: `2026-01-05 02:26:30.954`, optionally with an offset or zone.
  const printed = DateTime.fromSQL(text.trim(), { zone });
  return printed.isValid ? printed.toMillis() : null;
}

/** A calendar date without a time (`2026-01-05`): as a range end it names that whole day. */
export function isDateOnly(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text.trim());
}

export function isValidZone(zone: string): boolean {
  // UTC, the default of config and --tz, without luxon's first use of Intl (~15 CPU-ms of every
  // command's start-up; luxon reads any case of "utc" as its fixed UTC zone too).
  if (zone.toUpperCase() === 'UTC') return true;
  return DateTime.now().setZone(zone).isValid;
}

/** Start of the calendar day containing `epochMs`, in `zone`. */
export function startOfDay(epochMs: number, zone: string): number {
  return DateTime.fromMillis(epochMs, { zone }).startOf('day').toMillis();
}
