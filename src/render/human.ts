import { DateTime } from 'luxon';

/**
 * Values as people read them in a table: times in the chosen zone without the `T`/`Z` noise,
 * durations as `21m 22s`, lists joined. Machine formats (json, ndjson, csv) keep the exported
 * values untouched.
 */

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/** `2026-01-05 02:26:30` in `zone` (UTC shows no suffix; other zones carry their offset). */
export function formatHumanTime(epochMs: number, zone: string): string {
  const time = DateTime.fromMillis(epochMs, { zone });
  return zone.toUpperCase() === 'UTC' ? time.toFormat('yyyy-LL-dd HH:mm:ss') : time.toFormat('yyyy-LL-dd HH:mm:ss ZZ');
}

/** `2026-01-05` in `zone`. */
export function formatHumanDay(epochMs: number, zone: string): string {
  return DateTime.fromMillis(epochMs, { zone }).toFormat('yyyy-LL-dd');
}

/** `21m 22s`, `2h 5m`, `3d 4h`, `850ms`: the two largest units. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  let rest = Math.floor(ms / 1000) * 1000;
  const parts: string[] = [];
  for (const [name, size] of units) {
    if (rest >= size || parts.length > 0) {
      const count = Math.floor(rest / size);
      rest -= count * size;
      if (count > 0 || parts.length > 0) parts.push(`${count}${name}`);
    }
    if (parts.length === 2) break;
  }
  return parts.filter((part, index) => index === 0 || !part.startsWith('0')).join(' ');
}

/** A table column's heading: `duration_ms` reads `duration` once its values are `21m 22s`. */
export function humanHeading(key: string): string {
  return key === 'duration_ms' ? 'duration' : key;
}

/** Times, numbers and durations are never cut short in a narrow terminal; ids and text may be. */
export function isShrinkable(key: string, value: unknown): boolean {
  if (key === 'duration_ms' || typeof value === 'number' || typeof value === 'boolean') return false;
  return !(typeof value === 'string' && ISO_TIME.test(value));
}

/** One cell of a table for people. */
export function humanCell(key: string, value: unknown, zone: string): string {
  if (value === null || value === undefined) return '';
  if (key === 'duration_ms' && typeof value === 'number') return formatDuration(value);
  if (typeof value === 'string' && ISO_TIME.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? value : formatHumanTime(ms, zone);
  }
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item))).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
