import { formatHumanTime } from '../render/human.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { TimeRange } from '../stores/raw-store.js';

/**
 * An empty answer, said out loud to a person (stderr, on a terminal) with where the data is, so
 * "nothing matched" is not mistaken for "nothing happened" or a wrong window:
 * `0 sessions between 2026-02-01 00:00:00 and 2026-02-02 00:00:00; stored events span 2026-01-05 … 2026-01-07`.
 */
export function emptyResultMessage(noun: string, range: TimeRange, zone: string, filters: Record<string, string | undefined>, span: string | undefined): string {
  const at = (ms: number) => formatHumanTime(ms, zone);
  const when =
    range.from !== undefined && range.to !== undefined
      ? ` between ${at(range.from)} and ${at(range.to)}`
      : range.from !== undefined
        ? ` from ${at(range.from)}`
        : range.to !== undefined
          ? ` before ${at(range.to)}`
          : '';
  const matching = Object.entries(filters)
    .filter(([, value]) => value !== undefined)
    .map(([flag, value]) => `${flag} ${value}`);
  return `0 ${noun}${when}${matching.length ? ` matching ${matching.join(' ')}` : ''}${span ? `; ${span}` : ''}`;
}

/** "stored events span 2026-01-05 … 2026-01-07" (UTC days of event time), or that there are none. */
export async function storedEventSpan(analytics: AnalyticsStore): Promise<string> {
  const days = await analytics.dailyCounts('events', {});
  return days.length === 0 ? 'the analytics store holds no events' : `stored events span ${days[0]!.day} … ${days[days.length - 1]!.day}`;
}
