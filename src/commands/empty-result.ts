import { resolve } from 'node:path';
import type { JourneyConfig } from '../config/config.js';
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

/**
 * Where a read looked, for "not found" messages: the data directory of the embedded stores, or
 * the servers (credentials left out), so a wrong --data-dir or URL is visible at once.
 */
export function whereLooked(config: JourneyConfig): string {
  const { raw, analytics } = config.stores;
  const dataDir = resolve(config.dataDir);
  if (raw.engine === 'sqlite' && analytics.engine === 'chdb') return `the data directory ${dataDir}`;
  // A registered engine is named, never read as a shipped one.
  const rawPart = raw.registered ? `the ${raw.engine} raw store` : raw.engine === 'sqlite' ? `the raw store in ${dataDir}` : `MongoDB ${withoutCredentials(raw.url)} (database ${raw.database})`;
  const analyticsPart = analytics.registered
    ? `the ${analytics.engine} analytics store`
    : analytics.engine === 'chdb'
      ? `the analytics store in ${dataDir}`
      : analytics.engine === 'bigquery'
        ? `BigQuery dataset ${analytics.project}.${analytics.dataset}`
        : `ClickHouse ${withoutCredentials(analytics.url)} (database ${analytics.database})`;
  return `${rawPart} and ${analyticsPart}`;
}

function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(an unparsable URL)';
  }
}
