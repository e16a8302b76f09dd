import { formatIsoUtc, MAX_DATE_MS } from '../domain/time.js';
import { accept, reject, type Outcome } from './outcome.js';

export interface TimeRangeDeps {
  /** The earliest time accepted (pipeline.min_event_time). */
  minEventTimeMs: number;
  /** The latest is the line's arrival plus this (pipeline.future_tolerance, the clamp of clock-skew correction). */
  futureToleranceMs: number;
}

/**
 * The one valid range of times an accepted event may carry: from pipeline.min_event_time to its
 * arrival + future_tolerance. Outside it (year 1, 1969, 9999, 9e15 ms) a time is an error at
 * the source, not history; the stores, exports and session maths would otherwise hold it and
 * the default export range hide it. Checks the corrected event time and the collector's
 * receivedAt, the two times that are stored.
 */
export function createCheckTimeRange(deps: TimeRangeDeps) {
  return function checkTimeRange(times: { eventTime: number; receivedAt: number | null; arrivedAt: number }): Outcome<void> {
    const latest = times.arrivedAt + deps.futureToleranceMs;
    // Once per accepted event: no array of pairs to walk, one shared outcome (a third of this stage's cost).
    if (times.receivedAt !== null && outside(times.receivedAt, latest)) return outOfRange('receivedAt', times.receivedAt, latest);
    if (outside(times.eventTime, latest)) return outOfRange('event time', times.eventTime, latest);
    return IN_RANGE;
  };

  // Written so that NaN is outside too.
  function outside(value: number, latest: number): boolean {
    return !(value >= deps.minEventTimeMs && value <= latest);
  }

  function outOfRange(name: string, value: number, latest: number): Outcome<void> {
    return reject('time_out_of_range', `${name} ${describe(value)} is outside ${formatIsoUtc(deps.minEventTimeMs)} .. arrival + future_tolerance (${describe(latest)}) (pipeline.min_event_time)`);
  }
}

const IN_RANGE: Outcome<void> = Object.freeze(accept(undefined));

function describe(epochMs: number): string {
  return Number.isFinite(epochMs) && Math.abs(epochMs) <= MAX_DATE_MS ? formatIsoUtc(epochMs) : String(epochMs);
}
