import type { StoredEvent } from '../../domain/event.js';
import type { FunnelOutcome } from '../../domain/journey.js';
import type { Session, SessionEvent } from '../../domain/session.js';
import type { FunnelDefinition } from '../../journeys/funnels.js';

/** How sessions are cut (pipeline config), as the SQL derivation binds them. */
export interface SqlSessionRules {
  inactivityMs: number;
  maxLengthMs: number;
  splitAtMidnight: boolean;
  timezone: string;
  /** client: events carrying a client session id are grouped by it (SqlDerivationEvent.clientSessionId). */
  mode: 'gap' | 'client';
  clientMaxGapMs: number;
  /** Stored with each session: `<mode>@<rule version>` (sessionize.ts sessionModeLabel). */
  modeLabel: string;
}

/** The raw store's events table in the analytics engine: in `database`, or beside the analytics tables. */
export interface SqlRawEvents {
  database?: string;
}

/** An accepted event as the SQL derivation reads it (client mode: with the client's session id). */
export type SqlDerivationEvent = Pick<
  StoredEvent,
  'identityKey' | 'messageId' | 'type' | 'event' | 'eventTime' | 'anonymousId' | 'appVersion' | 'timeSource' | 'skewMs' | 'propertiesJson' | 'clientSessionId'
>;

/**
 * Sessionizing and placing events inside the analytics engine (ADR 0017): the stitching map
 * (identity key → user) comes from JS, the cutting rules are sessionize.ts's, and the result
 * is the same sessions and placement, byte for byte. Steward session corrections (forced
 * splits, joins, moves) and event edits are not applied here: users they touch stay with the
 * JS derivation. One derivation at a time (the caller holds the derive lease).
 */
export interface SqlDerivation {
  /** Empties the working tables, then loads these events and then the map, read once the events are (until raw events live in the engine). */
  load(events: Iterable<SqlDerivationEvent> | AsyncIterable<SqlDerivationEvent>, owners: ReadonlyMap<string, string>): Promise<void>;
  /**
   * Empties the working tables and loads only the map: the events are read where the raw store
   * keeps them in this engine (gap mode only; client mode reads the client's id from loaded events).
   */
  loadMap(owners: ReadonlyMap<string, string>, rawEvents: SqlRawEvents): Promise<void>;
  /** Places the loaded activity events of mapped identities in sessions; how many were placed. */
  place(rules: SqlSessionRules): Promise<number>;
  /** The sessions placed (labels empty, sessionize's own flags set), of these users or all, by user, start and id. */
  sessions(rules: Pick<SqlSessionRules, 'modeLabel'>, users?: readonly string[]): AsyncIterable<Session>;
  /** The placed events of these users or all, by user, time and message id. */
  events(users?: readonly string[]): AsyncIterable<SessionEvent>;
  /** Where the placed events of these users went, as [message id, session id] pairs in no order: the events' fields stay with the raw store. */
  sessionIds(users: readonly string[]): AsyncIterable<readonly [messageId: string, sessionId: string]>;
  /** Writes the placed events (of these users, or all) into the analytics events table at `version` inside the engine; rows written. */
  writeEvents(version: number, users?: readonly string[]): Promise<number>;
  /**
   * Computes every funnel's outcomes over the placed events (session and user scope), as
   * src/journeys/funnels.ts does: false when a funnel cannot be held to it in SQL, and then the
   * round computes funnels in JS (queries/sql-funnels.ts says when).
   */
  placeFunnels(funnels: readonly FunnelDefinition[]): Promise<boolean>;
  /** The outcomes placeFunnels computed for these users, by user, scope, subject and funnel (its index in the config). */
  funnelOutcomes(users: readonly string[]): AsyncIterable<SqlFunnelOutcome>;
}

/** A funnel outcome computed in SQL, with its funnel's position in the config. */
export type SqlFunnelOutcome = FunnelOutcome & { funnelIndex: number };

/** The store's SQL derivation, where its engine has one (the ClickHouse adapter: chdb and servers). */
export function sqlDerivationOf(store: object): SqlDerivation | undefined {
  return (store as { sqlDerivation?: SqlDerivation }).sqlDerivation;
}
