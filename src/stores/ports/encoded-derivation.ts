import type { DerivedTable, ReplaceResult } from './derived-writes.js';

/**
 * A derivation's rows as the analytics engine's own encoder writes them (for ClickHouse,
 * `encodeDerivation` in clickhouse-derived-writes.ts): per table, `\n`-terminated lines and
 * their count. Strings cross a worker thread as one copy, where the derivation's objects cost a
 * structured clone each (docs/decisions/0025).
 */
export interface EncodedDerivation {
  text: Record<DerivedTable, string>;
  rows: Record<DerivedTable, number>;
}

/** An analytics store that takes derivations encoded elsewhere (a worker thread). */
export interface EncodedDerivedWrites {
  /** Which encoder made the rows this store takes. */
  readonly encoding: 'clickhouse-tsv';
  /** replaceUsers (DerivedWrites) over an encoded derivation: the same rows written, deleted and counted. */
  replaceEncodedUsers(userIds: readonly string[], encoded: EncodedDerivation, version: number): Promise<ReplaceResult>;
}

/** The rows of users' derivation that belong to one day partition, encoded (reprocess; ADR 0023), with its findings counted by kind. */
export interface EncodedDayRows {
  encoded: EncodedDerivation;
  labels: number;
  flags: number;
}

/** DayRebuild.stage over rows cut to the day and encoded elsewhere (a worker thread): the same rows staged and counted. */
export type StageEncoded = (rows: EncodedDayRows, version: number) => Promise<void>;

/** A day rebuild's encoded staging, when its store has it (a ClickHouse engine owned by this process). */
export function encodedStagingOf(rebuild: object): StageEncoded | undefined {
  return (rebuild as { stageEncoded?: StageEncoded }).stageEncoded;
}

/** The store's encoded writes, when it has them (a ClickHouse engine owned by this process). */
export function encodedWritesOf(store: object): EncodedDerivedWrites | undefined {
  return (store as { encodedWrites?: EncodedDerivedWrites }).encodedWrites;
}

/** Appends `more` to `into` (a group of chunks written together). */
export function appendEncoded(into: EncodedDerivation, more: EncodedDerivation): void {
  for (const table of Object.keys(more.text) as DerivedTable[]) {
    into.text[table] += more.text[table];
    into.rows[table] += more.rows[table];
  }
}

export function emptyEncoded(): EncodedDerivation {
  return { text: { sessions: '', events: '', findings: '', funnel_outcomes: '' }, rows: { sessions: 0, events: 0, findings: 0, funnel_outcomes: 0 } };
}
