import type { CheckMeasures } from '../stores/analytics-store.js';
import type { TimeRange } from '../stores/raw-store.js';
import { DAY_MS } from './measure.js';

/** Per UTC day: events placed that day, and sessions starting that day with their declared and placed event counts. */
export interface ReconcileDay {
  day: string;
  events: number;
  sessions: number;
  /** Sum of the sessions' event_count. */
  declared: number;
  /** Events stored with those sessions' ids. */
  placed: number;
  mismatchedSessions: number;
  sample: string[];
}

/** A session's events lie within its maximum length after its start: they are looked for with two days' margin. */
export const RECONCILE_EVENT_MARGIN_MS = 2 * DAY_MS;
/** Ids of sessions whose declared and placed counts differ, shown per day. */
export const RECONCILE_SAMPLE = 10;

/** What the reconcile check compares with the raw store, per day of the range, in day order. */
export async function reconcileDays(analytics: Pick<CheckMeasures, 'dailyCounts' | 'sessionPlacement'>, range: TimeRange): Promise<ReconcileDay[]> {
  const days = new Map<string, ReconcileDay>();
  const dayOf = (day: string) => {
    let entry = days.get(day);
    if (!entry) days.set(day, (entry = { day, events: 0, sessions: 0, declared: 0, placed: 0, mismatchedSessions: 0, sample: [] }));
    return entry;
  };
  for (const { day, count } of await analytics.dailyCounts('events', range)) dayOf(day).events = count;
  for (const placed of await analytics.sessionPlacement(range, { eventMarginMs: RECONCILE_EVENT_MARGIN_MS, sampleSize: RECONCILE_SAMPLE })) Object.assign(dayOf(placed.day), placed);
  return [...days.values()].sort((a, b) => a.day.localeCompare(b.day));
}
