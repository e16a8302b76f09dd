import type { Correction } from '../../domain/correction.js';
import type { ReleaseBurst } from '../../journeys/release-bursts.js';
import type { SessionDetail } from './derived-reader.js';
import type { TimeRange } from './event-log.js';
import type { ReceivedCounts } from './stats.js';

export interface JourneyReport {
  sessionsPerDay: Array<{ day: string; sessions: number; flagged: number }>;
  sessions: { total: number; flagged: number; counted: number };
  labels: Array<{ label: string; sessions: number; share: number }>;
  flags: Array<{ flag: string; sessions: number }>;
  funnels: Array<{ funnel: string; totalSteps: number; entered: number; reachedStep: number[]; converted: number; conversionRate: number }>;
}

/** How long sessions are and how many events they hold, in the buckets the dashboards use. */
export interface SessionShape {
  lengths: Array<{ bucket: string; sessions: number }>;
  eventsPerSession: Array<{ bucket: string; sessions: number }>;
}

/** What `journeyctl report` and the HTML report read: aggregates the engine computes from the shared query definitions. */
export interface ReportAggregates {
  /** Aggregates computed by the engine; flagged sessions are left out unless asked for. */
  report(range: TimeRange, includeFlagged: boolean): Promise<JourneyReport>;
  /** Session length and events-per-session distributions of sessions starting in the range. */
  sessionShape(range: TimeRange): Promise<SessionShape>;
  /**
   * Up to `limit` sessions starting in the range, with their events (at most `eventsPerSession`
   * each), findings and funnel outcomes: flagged and labelled ones first, then a stable sample.
   */
  sampleSessions(range: TimeRange, limit: number, eventsPerSession: number): Promise<SessionDetail[]>;
}

/**
 * What the raw store knows that dashboards need (pipeline health, stewardship), published into
 * the analytics store as a copy: received lines per minute, release bursts, corrections.
 */
export interface PipelineFacts {
  /** receivedCounts in one-minute buckets over the whole raw store. */
  minutes: readonly ReceivedCounts[];
  bursts: readonly ReleaseBurst[];
  corrections: readonly Correction[];
}

/** The dashboards' copy of the raw store's pipeline facts. */
export interface PipelineFactsMirror {
  /**
   * Replaces the published copy of the raw store's pipeline facts (see PipelineFacts). `token`
   * names what the copy was made from; an engine that keeps it answers pipelineFactsToken.
   */
  publishPipelineFacts(facts: PipelineFacts, token?: string): Promise<void>;
  /**
   * The token the current copy was published with, or null when there is none or the copy is no
   * longer whole (a mirror table emptied or re-created since): the caller then publishes again.
   * Optional: without it every run publishes.
   */
  pipelineFactsToken?(): Promise<string | null>;
}
