import type { TimeSource } from './event.js';

/** A derived session: a run of one stitched user's activity with no gap over the inactivity timeout. */
export interface Session {
  sessionId: string;
  userId: string;
  /** Anonymous ids whose events are in this session, sorted. */
  anonymousIds: string[];
  startedAt: number;
  endedAt: number;
  eventCount: number;
  firstEvent: string;
  lastEvent: string;
  /** message id of the first event; the session id derives from it and the user. */
  firstMessageId: string;
  appVersions: string[];
  flags: string[];
  labels: string[];
  /** How it was cut, `<mode>@<rule version>` (`gap@1`, `client@1`): sessionize sets it, stores keep it. */
  mode?: string;
}

/** An event as the analytics store keeps it: placed in its stitched user's session. */
export interface SessionEvent {
  messageId: string;
  userId: string;
  anonymousId: string | null;
  sessionId: string;
  eventTime: number;
  type: string;
  event: string;
  appVersion: string | null;
  /** How the event time was obtained and the device clock offset removed (see correct-clock-skew). */
  timeSource: TimeSource;
  skewMs: number;
  /** JSON text of the event's properties, passed through unparsed. */
  propertiesJson: string;
  /**
   * Distinct lines received for the message id (StoredEvent.copies), for the duplicate_storm flag.
   * Set by derivation; analytics does not store it, so events read back from there lack it.
   */
  copies?: number;
  /** StoredEvent.anonymousIdUsers, for the identity_conflict flag; not stored either. */
  anonymousIdUsers?: readonly string[];
}
