import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { UsageError } from '../errors.js';
import { daysCovering } from '../pipeline/reprocess.js';
import { createProgress } from '../render/progress.js';
import { renderReprocessTable } from '../render/reprocess-table.js';
import { rebuildDays as rebuildDaysService, type ReprocessSummary } from '../services/reprocess.js';
import { openStores, type Stores } from '../stores/open-stores.js';
import { confirm, type CommandContext, parseDurationFlag, parseTimeRange } from './context.js';

export interface ReprocessOptions {
  from?: string;
  to?: string;
  tz: string;
  dryRun: boolean;
  yes: boolean;
  resume: boolean;
  /** Default: the configured pipeline.session_inactivity (a session can cross the range edge by that much). */
  lookback?: string;
  concurrency: string;
  wait: string;
  output?: string;
}

export type { ReprocessSummary };

/** `journeyctl reprocess`: rebuild day partitions of the analytics store from the raw store with today's config. */
export async function runReprocess(context: CommandContext, options: ReprocessOptions): Promise<ReprocessSummary> {
  if (!options.from || !options.to) throw new UsageError('reprocess needs --from and --to', { hint: 'e.g. --from yesterday --to today --tz Europe/Berlin' });
  const range = parseTimeRange(options);
  const from = range.from!;
  const to = range.to!;
  const concurrency = Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8) throw new UsageError('--concurrency must be a whole number from 1 to 8');
  const lookbackMs = options.lookback === undefined ? context.config.pipeline.sessionInactivityMs : parseDurationFlag('lookback', options.lookback);
  const days = daysCovering(from, to);
  if (days.length > 3660) throw new UsageError(`the range covers ${days.length} days; reprocess at most ten years at a time`);
  const asJson = resolveOutput(options.output, OUTPUTS.summary, context.interactive) === 'json';
  if (!options.dryRun && !options.yes && !(context.io.stdin.isTTY && context.io.stdout.isTTY)) {
    throw new UsageError('reprocess rewrites stored analytics; pass --yes to run it non-interactively', { hint: 'see what would change first with --dry-run' });
  }

  const waitMs = parseDurationFlag('wait', options.wait);
  const stores = await openStores(context.config, { command: 'journeyctl reprocess', waitMs, log: context.log });
  try {
    return await rebuildDays(context, stores, days, { ...options, lookbackMs, concurrency, waitMs, asJson, command: 'journeyctl reprocess' });
  } finally {
    await stores.close();
  }
}

export interface RebuildDaysCommandOptions {
  dryRun: boolean;
  yes: boolean;
  resume: boolean;
  lookbackMs: number;
  concurrency: number;
  /** --wait, parsed once by the command. */
  waitMs: number;
  asJson: boolean;
  command: string;
  /** Runs once confirmed, before anything is rebuilt (repair clears damaged parts here). */
  beforeRebuild?: () => Promise<void>;
  /** Read a day's stored counts as zero when they cannot be read (a damaged day, repair). */
  tolerateDamage?: boolean;
}

/**
 * The reprocess service (src/services/reprocess.ts) for a command, shared with `journeyctl repair`:
 * progress on the terminal, a confirmation unless --yes, and the per-day table or JSON.
 */
export async function rebuildDays(context: CommandContext, stores: Stores, days: readonly string[], options: RebuildDaysCommandOptions): Promise<ReprocessSummary> {
  const { asJson, yes } = options;
  const summary = await rebuildDaysService(context.config, stores, days, {
    dryRun: options.dryRun,
    resume: options.resume,
    lookbackMs: options.lookbackMs,
    concurrency: options.concurrency,
    command: options.command,
    beforeRebuild: options.beforeRebuild,
    tolerateDamage: options.tolerateDamage,
    waitMs: options.waitMs,
    log: context.log,
    progress: createProgress(context.io.stderr, !asJson, { env: context.io.env }),
    confirm: yes ? undefined : (question) => confirm(context, question),
  });
  render(context, summary, asJson);
  return summary;
}

function render(context: CommandContext, summary: ReprocessSummary, asJson: boolean): void {
  if (asJson) {
    context.io.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  context.io.stdout.write(renderReprocessTable(summary, context.color));
}
