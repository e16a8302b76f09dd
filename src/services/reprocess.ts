// The reprocess service: rebuild UTC day partitions of the analytics store from the raw store with
// today's config: the lease, the settling derive, the checkpoint (--resume) and the worker pool.
// `journeyctl reprocess` and `journeyctl repair` both rebuild through it.
import type { JourneyConfig } from '../config/config.js';
import { ActionFailedError, isJourneyError } from '../errors.js';
import { createLineProcessor } from '../pipeline/line-processor.js';
import { createReprocess, type DayDerivation, emptyCounts } from '../pipeline/reprocess.js';
import type { ProgressReporter } from '../render/progress.js';
import type { DayCounts } from '../stores/analytics-store.js';
import { acquireLease, currentHolder } from '../stores/lease.js';
import { hasGroupedReads } from '../stores/ports/grouped-reads.js';
import { queryCostsOf } from '../stores/ports/query-costs.js';
import { createDerivation, type DerivationStores } from './derivation.js';
import { storedUnder, validationFingerprint } from './validation-config.js';

export interface ReprocessSummary {
  /** `scanBytes` (dry run, on an engine that bills by bytes scanned): what rebuilding the day would scan, by the engine's dry run. */
  days: Array<{ day: string; before: DayCounts; after: DayCounts; nowRejected: number; users: number; skipped?: boolean; scanBytes?: number }>;
  dryRun: boolean;
  /** Dry run on BigQuery: the bytes the rebuild would scan in all, and the per-query limit. */
  scan?: { bytes: number; maxBytesBilled: number | null };
}

export interface RebuildDaysOptions {
  dryRun: boolean;
  resume: boolean;
  lookbackMs: number;
  concurrency: number;
  /** The command rebuilding (`journeyctl reprocess`): the lease holder, the checkpoint's name, the verb of messages. */
  command: string;
  /** How long to wait for another writer of derived data. */
  waitMs: number;
  log: (message: string, fields?: Record<string, unknown>) => void;
  progress: ProgressReporter;
  /** Asked once before anything is written (not asked when absent: --yes). */
  confirm?: (question: string) => Promise<boolean>;
  /** Runs once confirmed, before anything is rebuilt (repair clears damaged parts here). */
  beforeRebuild?: () => Promise<void>;
  /** Read a day's stored counts as zero when they cannot be read (a damaged day, repair). */
  tolerateDamage?: boolean;
}

/** Rebuilds these UTC day partitions (or, dry-run, says per day what would change). */
export async function rebuildDays(config: JourneyConfig, stores: DerivationStores, days: readonly string[], options: RebuildDaysOptions): Promise<ReprocessSummary> {
  const { lookbackMs, concurrency, progress, log } = options;
  const verb = options.command.replace(/^journeyctl /, '');
  // One writer of derived data at a time, across processes and engines: run's and fix's derives take the same lease.
  const lease = await acquireLease(stores.raw, 'derivation', currentHolder(options.command), { waitMs: options.waitMs, log });
  const dayCounts = (day: string) => (options.tolerateDamage ? stores.analytics.dayCounts(day).catch(() => emptyCounts()) : stores.analytics.dayCounts(day));
  // Stored lines are validated again on a worker thread, as ingest validates them, while this thread derives.
  const validation = { pipeline: config.pipeline, trackingPlan: config.trackingPlan };
  const lineProcessor = createLineProcessor({ ...validation, hashLines: false });
  const fingerprint = validationFingerprint(validation);
  const perRow = readsPerRow(config) || hasGroupedReads(stores.raw);
  try {
    const derivation = createDerivation(config, stores, { log });
    // Release bursts and copies as of today's data and config: the same inputs an incremental run derives with
    // (a changed set of bursts marks its users dirty, and the settling derive below re-flags them).
    await derivation.signals.refresh({ persist: !options.dryRun });
    const reprocess = createReprocess({
      ...derivation.stages,
      lineProcessor,
      // Every stored event accepted under today's validation config: its stored fields are what validating its line again gives.
      // Not where each chunk's read decompresses every granule of each column it reads (a ClickHouse raw store
      // without grouped reads): the stored fields are 13 columns to raw's one (ADR 0023).
      storedAsValidated: perRow ? () => storedUnder(stores.raw, fingerprint) : undefined,
      lookbackMs,
      // Two chunks and a stage are alive at once. Where chunks are read per row, smaller chunks hold less at
      // the same CPU; a ClickHouse raw store without grouped reads reads whole granules once per chunk (ADR 0023).
      usersPerChunk: perRow && config.stores.raw.engine !== 'mongodb' ? 125 : 250,
      // The day's chunks read back and derived on the derive worker where `run` derives there (ADR 0023).
      offload: derivation.dayOffload,
    });
    const summary: ReprocessSummary = { days: [], dryRun: options.dryRun };
    log(`${verb}: ${days.length} UTC day partition(s) ${days[0] ?? ''} … ${days[days.length - 1] ?? ''}${options.dryRun ? ' (dry run)' : ''}`, { days });

    if (options.dryRun) {
      // Where queries are billed by the bytes they scan, the engine's dry runs say what the rebuild would scan.
      const costs = queryCostsOf(stores.analytics);
      const scans = new Map((await costs?.rebuildBytes(days))?.map(({ day, bytes }) => [day, bytes]));
      for (const day of days) {
        const before = await dayCounts(day);
        const plan = await reprocess.planDay(day);
        const scanBytes = scans.get(day);
        summary.days.push({ day, before, after: plan.counts, nowRejected: plan.nowRejected, users: plan.users, ...(scanBytes === undefined ? {} : { scanBytes }) });
      }
      if (costs) summary.scan = { bytes: [...scans.values()].reduce((sum, bytes) => sum + bytes, 0), maxBytesBilled: costs.maxBytesBilled };
      return summary;
    }

    if (options.confirm && !(await options.confirm(`Rebuild ${days.length} day partition(s) ${days[0] ?? ''} … ${days[days.length - 1] ?? ''} from the raw store?`))) {
      throw new ActionFailedError(`${verb} not confirmed; nothing was changed`);
    }
    await options.beforeRebuild?.();
    // Settle what incremental ingestion still owes first, so identities are current.
    await derivation.deriveDirtyUsers();

    const checkpointKey = `${verb}:${days[0]}..${days[days.length - 1]}`;
    const done = new Set<string>(options.resume ? (JSON.parse((await stores.raw.readMeta(checkpointKey)) ?? '[]') as string[]) : []);
    if (options.resume) log(done.size ? `resuming: ${done.size} day(s) already rebuilt` : 'resuming: no checkpoint for this range, starting from the first day');
    await stores.raw.writeMeta(checkpointKey, JSON.stringify([...done].sort()));

    const pending = days.filter((day) => !done.has(day));
    progress.phase('rebuilding days', 'days');
    for (const day of days.filter((d) => done.has(d))) summary.days.push({ day, before: await dayCounts(day), after: await dayCounts(day), nowRejected: 0, users: 0, skipped: true });
    let failure: unknown = null;
    let next = 0;
    const worker = async () => {
      while (failure === null && next < pending.length) {
        const day = pending[next++]!;
        try {
          const before = await dayCounts(day);
          const rebuilt: DayDerivation = await reprocess.rebuildDay(day);
          done.add(day);
          await stores.raw.writeMeta(checkpointKey, JSON.stringify([...done].sort()));
          summary.days.push({ day, before, after: rebuilt.counts, nowRejected: rebuilt.nowRejected, users: rebuilt.users });
          log(`${verb}: ${day} rebuilt: ${rebuilt.counts.sessions} sessions, ${rebuilt.counts.events} events (was ${before.sessions}, ${before.events})`, { day, before, after: rebuilt.counts });
          progress.update(done.size, days.length, `${done.size}/${days.length} days rebuilt`);
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
    progress.finish();
    if (failure !== null) {
      const rebuilt = summary.days.filter((d) => !d.skipped).map((d) => d.day);
      const message = `${verb} stopped: ${isJourneyError(failure) ? failure.message : String(failure)}`;
      if (rebuilt.length === 0 && isJourneyError(failure)) throw failure;
      throw new ActionFailedError(`${message}; ${rebuilt.length} of ${days.length} day(s) rebuilt (${rebuilt.join(', ') || 'none'})`, {
        hint: 'fix the cause and run the same command with --resume to finish the remaining days',
        cause: failure,
      });
    }
    await stores.raw.writeMeta(checkpointKey, null);
    summary.days.sort((a, b) => a.day.localeCompare(b.day));
    return summary;
  } finally {
    progress.finish();
    await lineProcessor.close();
    await lease.release();
  }
}

/** Raw engines that read a chunk's rows through an index, row by row (not ClickHouse's granules of whole columns). */
function readsPerRow(config: JourneyConfig): boolean {
  return config.stores.raw.engine === 'sqlite' || config.stores.raw.engine === 'mongodb';
}
