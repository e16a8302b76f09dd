/**
 * Event shapes. Input follows the Segment/RudderStack spec; everything after
 * validation is a typed, normalised record with times as epoch milliseconds (UTC).
 */

export const EVENT_TYPES = ['track', 'page', 'screen', 'identify', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** The longest message id, in UTF-16 units. */
export const MAX_MESSAGE_ID_LENGTH = 256;
/** The event name of a call that sends none (a track call must). */
export const DEFAULT_EVENT_NAMES: Readonly<Partial<Record<EventType, string>>> = { page: 'page_viewed', screen: 'screen_viewed', identify: 'identify', alias: 'alias' };

/** Types that are user activity and so belong to sessions; identify/alias only move identity. */
export const ACTIVITY_TYPES: ReadonlySet<EventType> = new Set(['track', 'page', 'screen']);

/** A raw input event as sent by a client SDK (Segment/RudderStack spec). Nothing is trusted. */
export interface RawEventInput {
  type?: unknown;
  messageId?: unknown;
  event?: unknown;
  name?: unknown;
  userId?: unknown;
  anonymousId?: unknown;
  previousId?: unknown;
  timestamp?: unknown;
  sentAt?: unknown;
  receivedAt?: unknown;
  properties?: unknown;
  traits?: unknown;
  context?: unknown;
  [key: string]: unknown;
}

/** How event_time was obtained; kept on the record so a person can see why a time moved. */
export type TimeSource = 'skew_corrected' | 'received_at' | 'timestamp' | 'clamped_future' | 'client_time_rejected';

/** A validated, skew-corrected event: what the raw store keeps and the pipeline derives from. */
export interface AcceptedEvent {
  messageId: string;
  type: EventType;
  /** Event name; `identify`/`alias` for those types, `page_viewed`/`screen_viewed` when a page/screen call has no name. */
  event: string;
  /** userId as sent, if legal. */
  userId: string | null;
  /** anonymousId as sent, if legal. */
  anonymousId: string | null;
  /** alias calls only: the id being merged into userId. */
  previousId: string | null;
  /** The id this event is filed under before stitching: userId if present, else anonymousId. */
  identityKey: string;
  /** Corrected event time, epoch ms UTC. */
  eventTime: number;
  timeSource: TimeSource;
  /** Client clock offset that was removed: (sentAt − receivedAt) in ms, 0 when not computable. */
  skewMs: number;
  /** When the collector received it (or, if absent, when journeyctl ingested it), epoch ms. */
  receivedAt: number;
  appVersion: string | null;
  properties: Record<string, unknown>;
  context: Record<string, unknown>;
  traits: Record<string, unknown>;
  /** The original line, kept verbatim so a reprocess can re-validate it with today's rules. */
  raw: string;
  /** sha256 of `raw`; tie-breaker that keeps dedup order-independent. */
  rawHash: string;
}

/** Why a line was refused. Stable codes: checks, reports and people filter on them. */
export const REJECT_REASONS = [
  'invalid_json',
  'not_an_object',
  'payload_too_large',
  'line_too_long',
  'invalid_utf8',
  'too_deeply_nested',
  'invalid_type',
  'missing_message_id',
  'missing_event',
  'missing_identity',
  'illegal_identity',
  'invalid_id',
  'invalid_timestamp',
  'future_timestamp',
  'time_out_of_range',
  'invalid_properties',
  'unplanned_event',
  'required_missing',
  'datatype_mismatch',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** A refused input line; kept whole so nothing is lost and it can be replayed after a fix. */
export interface RejectedLine {
  raw: string;
  rawHash: string;
  reason: RejectReason;
  /** Human detail: which field, which rule. */
  detail: string;
  receivedAt: number;
  /** Best-effort fields for filtering rejected data (a buggy release is found by app version). */
  messageId: string | null;
  event: string | null;
  appVersion: string | null;
}

/** An accepted event as read back from the raw store for derivation: only what sessions and journeys need. */
export interface StoredEvent {
  messageId: string;
  type: EventType;
  event: string;
  identityKey: string;
  userId: string | null;
  anonymousId: string | null;
  eventTime: number;
  receivedAt: number;
  /** How event_time was obtained and the client clock offset removed (for the clock_skew flag). */
  timeSource: TimeSource;
  skewMs: number;
  appVersion: string | null;
  /** JSON text of `properties`; parsed only by stages that need it. */
  propertiesJson: string;
  /** JSON text of identify traits (`{}` for other calls). */
  traitsJson: string;
  /**
   * Distinct lines received for this message id: 1, or more when a client retried it with other
   * bytes (byte-identical copies count once). Read with the event, so the duplicate_storm flag
   * needs nothing store-wide.
   */
  copies: number;
  /**
   * The client's own session id (pipeline.client_session_id_paths), read from the stored line
   * only when sessions follow it (pipeline.session_mode: client); absent otherwise.
   */
  clientSessionId?: string | null;
  /**
   * Set when the event's anonymous id was seen with more than pipeline.max_users_per_anonymous_id
   * user ids (an identity conflict): those user ids, by first event time. Read with the events
   * by derivation, for the identity_conflict flag.
   */
  anonymousIdUsers?: readonly string[];
}
