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

/** Parses a wire timestamp (ISO-8601 string or epoch ms number) to epoch ms; null if invalid. */
export function parseEventTimestamp(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.trunc(value) : null;
  if (typeof value !== 'string' || value.length < 10 || value.length > 40) return null;
  const parsed = DateTime.fromISO(value, { zone: 'utc', setZone: true });
  if (!parsed.isValid) return null;
  return parsed.toMillis();
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
  return iso.isValid ? iso.toMillis() : null;
}

export function isValidZone(zone: string): boolean {
  return DateTime.now().setZone(zone).isValid;
}

/** Start of the calendar day containing `epochMs`, in `zone`. */
export function startOfDay(epochMs: number, zone: string): number {
  return DateTime.fromMillis(epochMs, { zone }).startOf('day').toMillis();
}
