// The derivation service: the one place that assembles sessionize → signals → deriveJourneys →
// deriveDirtyUsers from a config and open stores. run, fix, reprocess, repair, demo, the
// golden_journeys check and the benchmarks (through run and reprocess) all derive through it.
import type { JourneyConfig } from '../config/config.js';
import type { CorrectionRegistry } from '../corrections/kinds/kind.js';
import { CORRECTION_KINDS } from '../corrections/kinds/registry.js';
import { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { createDeriveDirtyUsers, type DeriveDeps, type DeriveSummary, type OffloadedDerivation } from '../pipeline/derive-dirty-users.js';
import type { OffloadedDays } from '../pipeline/reprocess.js';
import { createSignalsRefresher, type SignalsRefresher } from '../pipeline/journey-signals.js';
import { createSessionize } from '../pipeline/sessionize.js';
import { sqlSessionRules } from '../pipeline/sql-session-rules.js';
import { UsageError } from '../errors.js';
import { createDeriveOffload } from './derive-offload.js';
import { type SqlDerivation, sqlDerivationOf, type SqlRawEvents } from '../stores/ports/sql-derivation.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import { encodedWritesOf } from '../stores/ports/encoded-derivation.js';
import { sqliteEngine } from '../stores/raw-engines.js';
import { type OpenStoresOptions, serialiseDerivation } from '../stores/open-stores.js';
import type { RawStore } from '../stores/raw-store.js';

/**
 * Dirty ids taken per round when a whole backlog is derived at once (run). Ids are ~40 bytes
 * each; in rounds of the default 20k, a user whose anonymous ids fall in another round than its
 * own id was derived once per round.
 */
export const BACKLOG_IDS_PER_ROUND = 200_000;

export interface DerivationStores {
  raw: RawStore;
  analytics: AnalyticsStore;
}

export interface DerivationOptions {
  /** Derive a backlog's dirty ids in one round (BACKLOG_IDS_PER_ROUND) instead of the pipeline's default round size. */
  backlog?: boolean;
  /** The correction kinds the derivation compiles corrections with (default: the shipped ones). */
  correctionKinds?: CorrectionRegistry;
  onProgress?: DeriveDeps['onProgress'];
  /** Who derives and how long to wait for another writer: derives are serialised across processes where the engine needs it. */
  lease?: OpenStoresOptions;
  /** Messages for people (default: the lease's): the derive worker says what it derives (ADR 0025). */
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** What a derivation derives with: the stages a preview or a day rebuild reuses without writing. */
export type DerivationStages = Pick<DeriveDeps, 'raw' | 'analytics' | 'sessionize' | 'deriveJourneys' | 'correctionKinds'>;

export interface Derivation {
  /** Release bursts and copies: store-wide inputs of two flags, refreshed by the caller before a derive. */
  signals: SignalsRefresher;
  stages: DerivationStages;
  /** A reprocessed day's reading back and deriving on the derive worker, under the conditions `run`'s derive offloads (ADR 0023). */
  dayOffload?: OffloadedDays;
  /** Re-derives every dirty user (not serialised: see `serialised`). */
  deriveDirtyUsers(): Promise<DeriveSummary>;
  /** `work` as one writer of derived data at a time, when options.lease names the writer (otherwise as it is). */
  serialised<T>(work: () => Promise<T>): () => Promise<T>;
}

/** Where the analytics engine holds the raw events too, when it does: there SQL reads them in place (null: it does not). */
function rawEventsInEngine(config: JourneyConfig): SqlRawEvents | null {
  const { raw, analytics } = config.stores;
  // stores.raw.engine chdb: the raw tables sit beside analytics' in the embedded engine's database.
  if (raw.engine === 'chdb' && analytics.engine === 'chdb') return {};
  if (raw.engine === 'clickhouse' && !raw.registered && analytics.engine === 'clickhouse' && !analytics.registered && raw.url === analytics.url) return { database: raw.database };
  return null;
}

function sqlDerivationFor(analytics: AnalyticsStore): SqlDerivation {
  const sql = sqlDerivationOf(analytics);
  if (sql) return sql;
  throw new UsageError(`derivation.engine: sql needs a ClickHouse analytics store (chdb or clickhouse), not ${analytics.engine}`, {
    hint: 'set derivation.engine: js, or stores.analytics.engine: chdb',
  });
}

/**
 * A backlog's reading back and deriving on a worker thread, while this one diffs and writes
 * (docs/decisions/0025): where the raw store is SQLite (the worker opens its own connection), the
 * analytics store takes encoded rows, and the derivation is the shipped JS one.
 */
function offloadFor(
  config: JourneyConfig,
  stores: DerivationStores,
  options: DerivationOptions,
  signals: SignalsRefresher,
): (NonNullable<DeriveDeps['offload']> & { derive: OffloadedDerivation & OffloadedDays }) | undefined {
  const writes = encodedWritesOf(stores.analytics);
  if (!writes || stores.raw.engine !== 'sqlite' || config.derivation.engine !== 'js' || (options.correctionKinds && options.correctionKinds !== CORRECTION_KINDS) || config.journeys.flagKinds)
    return undefined;
  const derive = createDeriveOffload({
    rawPath: sqliteEngine.admin.location(config),
    pipeline: config.pipeline,
    journeys: config.journeys,
    signals: signals.current,
    fromUsers: config.derivation.workerFromUsers,
    log: options.log ?? options.lease?.log,
  });
  return derive ? { derive, writes } : undefined;
}

export function createDerivation(config: JourneyConfig, stores: DerivationStores, options: DerivationOptions = {}): Derivation {
  const signals = createSignalsRefresher(stores.raw, config.journeys.flags);
  const stages: DerivationStages = {
    raw: stores.raw,
    analytics: stores.analytics,
    sessionize: createSessionize(config.pipeline),
    deriveJourneys: createDeriveJourneys(config.journeys, signals.current),
    correctionKinds: options.correctionKinds,
  };
  const offload = offloadFor(config, stores, options, signals);
  const deriveDirtyUsers = createDeriveDirtyUsers({
    ...stages,
    offload,
    idsPerRound: options.backlog ? BACKLOG_IDS_PER_ROUND : undefined,
    onProgress: options.onProgress,
    // derivation.engine: sql cuts sessions in the analytics engine (ADR 0017); js stays the reference.
    sql:
      config.derivation.engine === 'sql'
        ? { sql: sqlDerivationFor(stores.analytics), rules: sqlSessionRules(config.pipeline), rawEvents: rawEventsInEngine(config), funnels: config.journeys.funnels }
        : undefined,
  });
  const lease = options.lease;
  return {
    signals,
    stages,
    ...(offload ? { dayOffload: offload.derive } : {}),
    deriveDirtyUsers,
    serialised: (work) => (lease ? serialiseDerivation(config, stores.raw, lease, work) : work),
  };
}
