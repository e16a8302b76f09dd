import type { StoreDamage } from '../store-damage.js';

/** Opening, creating and closing an analytics store. */
export interface AnalyticsLifecycle {
  readonly engine: string;
  /** Creates the database and tables if missing. Idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Damage detection and repair (`journeyctl doctor`, `repair`, and the cheap look every open of a
 * data directory takes; see store-damage.ts). Engines that keep files a person can damage have it.
 */
export interface AnalyticsDamage {
  /** Tables of this database that exist now (before migrate, to tell a deleted definition from a new store). */
  existingTables(): Promise<string[]>;
  /** Rows in the events table, tombstones included: a cheap "holds data". */
  eventCount(): Promise<number>;
  /** Every table migrate creates. */
  expectedTables(): string[];
  /** Parts the engine set aside when it opened the tables: their rows silently vanish from every read. Cheap. */
  brokenParts(): Promise<StoreDamage[]>;
  /** Every part's files against its checksums. Reads all the data: doctor and repair only. */
  checkParts(): Promise<StoreDamage[]>;
  /** Deletes parts set aside as broken (their rows are rebuilt from the raw store); how many. */
  dropBrokenParts(): Promise<number>;
  /** Drops these day partitions from every derived table (before they are rebuilt). */
  dropDays(days: readonly string[]): Promise<void>;
  /** Empties every derived table and its staging (a rebuild of everything from the raw store follows). */
  truncateDerived(): Promise<void>;
}
