/**
 * What a check type's measure returns (each type's own in src/checks/kinds/). A measurement is one value per group (one group, per app
 * version, per day…) with the rows that explain it; thresholds are applied by run-checks.ts.
 * The engines do the scanning: ClickHouse for the analytics side, one grouped index scan for
 * the raw store's received-time counts (shared by every rate check of a run).
 */
import type { JourneyConfig } from '../config/config.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { RawStore, ReceivedCounts } from '../stores/raw-store.js';

export const DAY_MS = 86_400_000;

export type Unit = 'share' | 'count' | 'ratio' | 'ms' | 'rows';

export interface Group {
  /** '' for a check with a single measurement; an app version, a day… otherwise. */
  key: string;
  /** null: nothing to measure in this group (see note); it neither passes nor fails. */
  value: number | null;
  note?: string;
  /** Rows that explain the value (sample failing rows, counts), shown when the group fails. */
  rows?: Array<Record<string, unknown>>;
}

export interface Measurement {
  unit: Unit;
  groups: Group[];
  /** Set when the check failed outright (no data at all where some was required). */
  failure?: string;
  note?: string;
}

export interface MeasureContext {
  config: JourneyConfig;
  /** The window the run checks; unbounded ends are open. */
  range: { from?: number; to?: number };
  /** "Now" for freshness: --to when given. */
  asOf: number;
  sampleSize: number;
  raw(): Promise<RawStore>;
  analytics(): Promise<AnalyticsStore>;
  /** Raw received counts per UTC day and app version over a range, each range read once per run. */
  receivedPerDay(range: { from?: number; to?: number }): Promise<ReceivedCounts[]>;
  /** The config file the golden derivation uses when the check names none. */
  configPath: string | null;
  updateGolden: boolean;
  /** Environment of the golden derivation's child process (PATH only: nothing of ours leaks into it). */
  childEnv: Record<string, string>;
}

export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function sum(counts: Partial<Record<string, number>>): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n ?? 0;
  return total;
}

export function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
