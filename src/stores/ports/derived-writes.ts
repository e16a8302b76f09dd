import type { Finding, FunnelOutcome } from '../../domain/journey.js';
import type { Session, SessionEvent } from '../../domain/session.js';

/** Everything derived for a set of users, written together. */
export interface UserDerivation {
  sessions: readonly Session[];
  events: readonly SessionEvent[];
  findings: readonly Finding[];
  funnelOutcomes: readonly FunnelOutcome[];
}

export const DERIVED_TABLES = ['sessions', 'events', 'findings', 'funnel_outcomes'] as const;
export type DerivedTable = (typeof DERIVED_TABLES)[number];

export type ReplaceResult = Record<DerivedTable, { written: number; deleted: number }>;

/** Rows per derived table of one day partition, with findings also split into labels and flags. */
export type DayCounts = Record<DerivedTable, number> & { labels: number; flags: number };

/** A day partition being rebuilt: rows go to staging, commit swaps them in table by table. */
export interface DayRebuild {
  readonly day: string;
  /**
   * Adds these rows (only those that belong to the day are kept) to the staging partition; a
   * store may still be writing them when this resolves (commit writes the rest and checks).
   */
  stage(derivation: UserDerivation, version: number): Promise<void>;
  /** Resolves once none of the rebuild's writes is running (failures ignored): before the stores close after a failure. */
  settled?(): Promise<void>;
  /** Checks staging holds what was staged, then replaces the day in every table (an empty day is dropped explicitly). */
  commit(): Promise<DayCounts>;
}

/** The UTC day (YYYY-MM-DD) a row is partitioned into: the same rule the tables' PARTITION BY applies. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** The part of a derivation that lives in one day partition. */
export function derivationOfDay(derivation: UserDerivation, day: string): UserDerivation {
  // utcDay(t) === day, as a range test: a day rebuild filters every row of its users through here.
  const start = Date.parse(`${day}T00:00:00.000Z`);
  const end = start + 86_400_000;
  const inDay = (epochMs: number) => epochMs >= start && epochMs < end;
  return {
    sessions: derivation.sessions.filter((s) => inDay(s.startedAt)),
    events: derivation.events.filter((e) => inDay(e.eventTime)),
    findings: derivation.findings.filter((f) => inDay(f.startedAt)),
    funnelOutcomes: derivation.funnelOutcomes.filter((o) => inDay(o.startedAt)),
  };
}

/** Writing derived rows: per user (derive, fix) or per UTC day partition (reprocess). */
export interface DerivedWrites {
  /**
   * Makes the stored rows of exactly these users equal `derivation` (their complete new
   * derivation): unchanged rows are left alone, changed rows rewritten, vanished rows
   * tombstoned. `version` must exceed every version written before.
   */
  replaceUsers(userIds: readonly string[], derivation: UserDerivation, version: number): Promise<ReplaceResult>;
  /** Rows stored in one UTC day partition of each derived table. */
  dayCounts(day: string): Promise<DayCounts>;
  /** Starts an atomic rebuild of one UTC day partition (reprocess). */
  rebuildDay(day: string): Promise<DayRebuild>;
}
