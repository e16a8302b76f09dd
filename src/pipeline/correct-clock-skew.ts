import type { TimeSource } from '../domain/event.js';
import { accept, reject, type Outcome } from './outcome.js';

export interface ClockSkewDeps {
  futureToleranceMs: number;
  futureEvents: 'clamp' | 'reject';
}

export interface WireTimes {
  timestamp: number | null;
  sentAt: number | null;
  receivedAt: number;
}

export interface CorrectedTime {
  eventTime: number;
  timeSource: TimeSource;
  skewMs: number;
}

/**
 * event time = receivedAt − (sentAt − timestamp): the device clock's offset cancels out
 * (Segment, RudderStack, Snowplow). Fallbacks, in order:
 *  - timestamp after sentAt is impossible (the event happened after it was sent): use receivedAt;
 *  - no sentAt: trust timestamp, unless it is further in the future than the tolerance;
 *  - no timestamp: receivedAt.
 */
export function createCorrectClockSkew(deps: ClockSkewDeps) {
  return function correctClockSkew(times: WireTimes): Outcome<CorrectedTime> {
    const { timestamp, sentAt, receivedAt } = times;
    if (timestamp !== null && sentAt !== null) {
      if (timestamp > sentAt) return accept({ eventTime: receivedAt, timeSource: 'received_at', skewMs: 0 });
      return accept({ eventTime: receivedAt - (sentAt - timestamp), timeSource: 'skew_corrected', skewMs: sentAt - receivedAt });
    }
    if (timestamp === null) return accept({ eventTime: receivedAt, timeSource: 'received_at', skewMs: 0 });
    if (timestamp > receivedAt + deps.futureToleranceMs) {
      if (deps.futureEvents === 'reject') {
        return reject('future_timestamp', `timestamp is ${Math.round((timestamp - receivedAt) / 3_600_000)} h after it was received`);
      }
      return accept({ eventTime: receivedAt, timeSource: 'clamped_future', skewMs: timestamp - receivedAt });
    }
    return accept({ eventTime: timestamp, timeSource: 'timestamp', skewMs: 0 });
  };
}
