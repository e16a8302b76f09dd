import type { RejectReason } from '../domain/event.js';
import type { ReleaseBurst } from './release-bursts.js';

/** A rejected line of a burst's version, received in its window, filed under the ids it carries. */
export interface BurstHit {
  /** Index into JourneySignals.bursts. */
  burst: number;
  receivedAt: number;
  messageId: string | null;
  reason: RejectReason;
}

/**
 * What flags need beyond one user's accepted events, read from the raw store before deriving
 * (src/pipeline/journey-signals.ts): a function of the stored data, like the events themselves.
 */
export interface JourneySignals {
  bursts: readonly ReleaseBurst[];
  /** Rejected lines in bursts, by userId and by anonymousId. */
  burstHits: ReadonlyMap<string, readonly BurstHit[]>;
}

export const NO_SIGNALS: JourneySignals = { bursts: [], burstHits: new Map() };
