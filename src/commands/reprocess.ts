import Table from 'cli-table3';
import { tableStyle } from '../render/terminal.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { ActionFailedError, isJourneyError, UsageError } from '../errors.js';
import { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { createDeriveDirtyUsers } from '../pipeline/derive-dirty-users.js';
import { createSignalsRefresher } from '../pipeline/journey-signals.js';
import { createProcessLine } from '../pipeline/process-line.js';
import { createReprocess, type DayDerivation, daysCovering, emptyCounts } from '../pipeline/reprocess.js';
import { createSessionize } from '../pipeline/sessionize.js';
import { createProgress } from '../render/progress.js';
import type { DayCounts } from '../stores/analytics-store.js';
import { acquireLease, currentHolder } from '../stores/lease.js';
import { openStores, type Stores } from '../stores/open-stores.js';
import { confirm, type CommandContext, parseDurationFlag, parseTimeRange } from './context.js';

export interface ReprocessOptions {
  from?: string;
  to?: string;
  tz: string;
  dryRun: boolean;
  yes: boolean;
  resume: boolean;
  lookback: string;
  concurrency: string;
  wait: string;
  output?: string;
}

export interface ReprocessSummary {
  days: Array<{ day: string; before: DayCounts; after: DayCounts; nowRejected: number; users: number; skipped?: boolean }>;
  dryRun: boolean;
}

/** `journeyctl reprocess`: rebuild day partitions of the analytics store from the raw store with today's config. */
export async function runReprocess(context: CommandContext, options: ReprocessOptions): Promise<ReprocessSummary> {
  if (!options.from || !options.to) throw new UsageError('reprocess needs --from and --to', { hint: 'e.g. --from yesterday --to today --tz Europe/Berlin' });
  const range = parseTimeRange(options);
  const from = range.from!;
  const to = range.to!;
  if (from >= to) throw new UsageError('--from must be before --to');
  const concurrency = Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8) throw new UsageError('--concurrency must be a whole number from 1 to 8');
  const lookbackMs = parseDurationFlag('lookback', options.lookback);
  const days = daysCovering(from, to);
  if (days.length > 3660) throw new UsageError(`the range covers ${days.length} days; reprocess at most ten years at a time`);
  const asJson = resolveOutput(options.output, OUTPUTS.summary, context.interactive) === 'json';
  if (!options.dryRun && !options.yes && !(context.io.stdin.isTTY && context.io.stdout.isTTY)) {
    throw new UsageError('reprocess rewrites stored analytics; pass --yes to run it non-interactively', { hint: 'see what would change first with --dry-run' });
  }

  const stores = await openStores(context.config, { command: 'journeyctl reprocess', waitMs: parseDurationFlag('wait', options.wait), log: context.log });
  try {
    return await rebuildDays(context, stores, days, { ...options, lookbackMs, concurrency, asJson, command: 'journeyctl reprocess' });
  } finally {
    await stores.close();
  }
}

export interface RebuildDaysOptions {
  dryRun: boolean;
  yes: boolean;
  resume: boolean;
  lookbackMs: number;
  concurrency: number;
  wait: string;
  asJson: boolean;
  command: string;
  /** Runs once confirmed, before anything is rebuilt (repair clears damaged parts here). */
  beforeRebuild?: () => Promise<void>;
  /** Read a day's stored counts as zero when they cannot be read (a damaged day, repair). */
  tolerateDamage?: boolean;
}

/**
 * The reprocess machinery, shared with `journeyctl repair`: rebuild these UTC day partitions of the
 * analytics store from the raw store (or, dry-run, show per day what would change).
 */
export async function rebuildDays(context: CommandContext, stores: Stores, days: readonly string[], options: RebuildDaysOptions): Promise<ReprocessSummary> {
  const { config } = context;
  const { asJson, lookbackMs, concurrency } = options;
  const verb = options.command.replace(/^journeyctl /, '');
  // One writer of derived data at a time, across processes and engines: run's and fix's derives take the same lease.
  const lease = await acquireLease(stores.raw, 'derivation', currentHolder(options.command), { waitMs: parseDurationFlag('wait', options.wait), log: context.log });
  const progress = createProgress(context.io.stderr, !asJson);
  const dayCounts = (day: string) => (options.tolerateDamage ? stores.analytics.dayCounts(day).catch(() => emptyCounts()) : stores.analytics.dayCounts(day));
  try {
    const sessionize = createSessionize(config.pipeline);
    // Release bursts and copies as of today's data and config: the same inputs an incremental run derives with
    // (a changed set of bursts marks its users dirty, and the settling derive below re-flags them).
    const signals = createSignalsRefresher(stores.raw, config.journeys.flags);
    await signals.refresh({ persist: !options.dryRun });
    const deriveJourneys = createDeriveJourneys(config.journeys, signals.current);
    const reprocess = createReprocess({
      raw: stores.raw,
      analytics: stores.analytics,
      processLine: createProcessLine({ pipeline: config.pipeline, trackingPlan: config.trackingPlan }),
      sessionize,
      deriveJourneys,
      lookbackMs,
    });
    const summary: ReprocessSummary = { days: [], dryRun: options.dryRun };
    context.log(`${verb}: ${days.length} UTC day partition(s) ${days[0] ?? ''} … ${days[days.length - 1] ?? ''}${options.dryRun ? ' (dry run)' : ''}`, { days });

    if (options.dryRun) {
      for (const day of days) {
        const before = await dayCounts(day);
        const plan = await reprocess.planDay(day);
        summary.days.push({ day, before, after: plan.counts, nowRejected: plan.nowRejected, users: plan.users });
      }
      render(context, summary, asJson);
      return summary;
    }

    if (!options.yes && !(await confirm(context, `Rebuild ${days.length} day partition(s) ${days[0] ?? ''} … ${days[days.length - 1] ?? ''} from the raw store?`))) {
      throw new ActionFailedError(`${verb} not confirmed; nothing was changed`);
    }
    await options.beforeRebuild?.();
    // Settle what incremental ingestion still owes first, so identities are current.
    await createDeriveDirtyUsers({ raw: stores.raw, analytics: stores.analytics, sessionize, deriveJourneys })();

    const checkpointKey = `${verb}:${days[0]}..${days[days.length - 1]}`;
    const done = new Set<string>(options.resume ? (JSON.parse((await stores.raw.readMeta(checkpointKey)) ?? '[]') as string[]) : []);
    if (options.resume) context.log(done.size ? `resuming: ${done.size} day(s) already rebuilt` : 'resuming: no checkpoint for this range, starting from the first day');
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
          context.log(`${verb}: ${day} rebuilt: ${rebuilt.counts.sessions} sessions, ${rebuilt.counts.events} events (was ${before.sessions}, ${before.events})`, { day, before, after: rebuilt.counts });
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
    render(context, summary, asJson);
    return summary;
  } finally {
    progress.finish();
    await lease.release();
  }
}

function render(context: CommandContext, summary: ReprocessSummary, asJson: boolean): void {
  if (asJson) {
    context.io.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const arrow = (before: number, after: number) => (before === after ? String(after) : `${before} → ${after}`);
  const table = new Table({ head: ['day (UTC)', 'sessions', 'events', 'labels', 'flags', 'now rejected', ''], style: tableStyle(context.color) });
  for (const day of summary.days) {
    table.push([
      day.day,
      arrow(day.before.sessions, day.after.sessions),
      arrow(day.before.events, day.after.events),
      arrow(day.before.labels, day.after.labels),
      arrow(day.before.flags, day.after.flags),
      day.nowRejected,
      day.skipped ? 'done earlier' : summary.dryRun ? 'would rebuild' : 'rebuilt',
    ]);
  }
  context.io.stdout.write(`${table.toString()}\n${summary.dryRun ? 'Dry run: nothing was written.\n' : ''}`);
}
