import type { TimeSource } from '../domain/event.js';
import { accept, reject, type Outcome } from './outcome.js';

export interface ClockSkewDeps {
  futureToleranceMs: number;
  futureEvents: 'clamp' | 'reject';
}

export interface WireTimes {
  timestamp: number | null;
  sentAt: number | null;
  /** The collector's receipt time; null when the line carries none (a file replay, say). */
  receivedAt: number | null;
  /** When journeyctl read the line: the bound for believing a client time without receivedAt. */
  arrivedAt: number;
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
 * Without receivedAt there is no server clock to correct against: the client's timestamp is
 * believed (bounded by when we read the line), because "now" would put every event of a
 * replayed file at replay time and make the result depend on when it ran.
 */
export function createCorrectClockSkew(deps: ClockSkewDeps) {
  return function correctClockSkew(times: WireTimes): Outcome<CorrectedTime> {
    const { timestamp, sentAt } = times;
    if (times.receivedAt === null) {
      const clientTime = timestamp ?? sentAt;
      if (clientTime === null) return accept({ eventTime: times.arrivedAt, timeSource: 'received_at', skewMs: 0 });
      return believeClientTime(clientTime, times.arrivedAt);
    }
    const receivedAt = times.receivedAt;
    if (timestamp !== null && sentAt !== null) {
      if (timestamp > sentAt) return accept({ eventTime: receivedAt, timeSource: 'client_time_rejected', skewMs: 0 });
      return accept({ eventTime: receivedAt - (sentAt - timestamp), timeSource: 'skew_corrected', skewMs: sentAt - receivedAt });
    }
    if (timestamp === null) return accept({ eventTime: receivedAt, timeSource: 'received_at', skewMs: 0 });
    return believeClientTime(timestamp, receivedAt);
  };

  function believeClientTime(clientTime: number, bound: number): Outcome<CorrectedTime> {
    if (clientTime > bound + deps.futureToleranceMs) {
      if (deps.futureEvents === 'reject') {
        return reject('future_timestamp', `timestamp is ${Math.round((clientTime - bound) / 3_600_000)} h after it was received`);
      }
      return accept({ eventTime: bound, timeSource: 'clamped_future', skewMs: clientTime - bound });
    }
    return accept({ eventTime: clientTime, timeSource: 'timestamp', skewMs: 0 });
  }
}
