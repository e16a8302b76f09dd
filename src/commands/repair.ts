import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { createPublishPipelineFacts } from '../pipeline/publish-pipeline-facts.js';
import type { OpenedAnalyticsStore } from '../stores/analytics-store.js';
import { markDataDirRebuilt } from '../stores/data-dir.js';
import { openAnalyticsStore, openRawStore, type Stores } from '../stores/open-stores.js';
import { describeDamage, isDayDamage, type StoreDamage } from '../stores/store-damage.js';
import { type CommandContext, parseDurationFlag } from './context.js';
import { rebuildDays, type ReprocessSummary } from './reprocess.js';

export interface RepairOptions {
  dryRun: boolean;
  yes: boolean;
  /** Rebuild every day of analytics from the raw store as it is, whatever was found (also when the raw store is missing). */
  analyticsOnly: boolean;
  wait: string;
  output?: string;
}

export interface RepairResult {
  damage: StoreDamage[];
  /** Every day is rebuilt (analytics emptied first), not only the damaged ones. */
  full: boolean;
  summary: ReprocessSummary | null;
}

/**
 * `journeyctl repair`: finds what is damaged (the checks every open takes, plus CHECK TABLE on every
 * part) and rebuilds it from the raw store, the source of truth, with the reprocess machinery.
 * Damage confined to day partitions rebuilds those days; anything else (a deleted table or
 * analytics/, parts of two data directories, --analytics-only) empties analytics and rebuilds every day.
 */
export async function runRepair(context: CommandContext, options: RepairOptions): Promise<RepairResult> {
  const asJson = resolveOutput(options.output, OUTPUTS.summary, context.interactive) === 'json';
  if (!options.dryRun && !options.yes && !(context.io.stdin.isTTY && context.io.stdout.isTTY)) {
    throw new UsageError('repair rewrites stored analytics; pass --yes to run it non-interactively', { hint: 'see what it would rebuild first with --dry-run' });
  }
  const { config } = context;
  const command = 'journeyctl repair';
  const waitMs = parseDurationFlag('wait', options.wait);
  const damage: StoreDamage[] = [];
  // Without --analytics-only a missing raw store is refused here too: nothing can rebuild it.
  const raw = await openRawStore(config, { create: true, allowDamage: options.analyticsOnly });
  let analytics: OpenedAnalyticsStore;
  try {
    // A dry run changes nothing: a deleted table is re-created (migrate) only by the real repair.
    analytics = await openAnalyticsStore(config, raw, { command, waitMs, log: context.log, create: !options.dryRun, allowDamage: true, onDamage: (found) => damage.push(...found) });
  } catch (error) {
    await raw.close();
    throw error;
  }
  const stores: Stores = {
    raw,
    analytics,
    async close() {
      await analytics.close();
      await raw.close();
    },
  };
  try {
    damage.push(...(await analytics.checkParts()));
    for (const found of damage) context.log(`repair: found ${describeDamage(found)}`, { damage: found });
    const full = options.analyticsOnly || damage.some((found) => !isDayDamage(found));
    if (!full && damage.length === 0) {
      context.log('repair: no damage found; nothing to rebuild (--analytics-only rebuilds every day anyway)');
      if (asJson) context.io.stdout.write(`${JSON.stringify({ damage, full, days: [] })}\n`);
      return { damage, full, summary: null };
    }
    const days = full ? (await raw.acceptedPerDay({})).map((row) => row.day) : [...new Set(damage.filter(isDayDamage).map((found) => found.day!))].sort();
    context.log(full ? `repair: analytics will be emptied and all ${days.length} day(s) of the raw store rebuilt` : `repair: ${days.length} damaged day(s) will be rebuilt: ${days.join(', ')}`);
    const embedded = config.stores.raw.engine === 'sqlite' && config.stores.analytics.engine === 'chdb';
    const summary = await rebuildDays(context, stores, days, {
      dryRun: options.dryRun,
      yes: options.yes,
      resume: false,
      lookbackMs: config.pipeline.sessionInactivityMs,
      concurrency: 1,
      waitMs,
      asJson,
      command,
      tolerateDamage: true,
      beforeRebuild: async () => {
        await analytics.dropBrokenParts();
        if (full) await analytics.truncateDerived();
        else await analytics.dropDays(days);
      },
    });
    if (!options.dryRun) {
      // The dashboards' copies of raw-store facts (mirror-schema.ts) are replaced whole: a re-created or damaged one is whole again.
      await createPublishPipelineFacts({ raw, analytics, lateAfterMs: config.pipeline.lateAfterMs })({ force: true });
      if (full && embedded) await markDataDirRebuilt(raw, analytics, join(config.dataDir, 'analytics'));
      const left = [...(await analytics.brokenParts()), ...(await analytics.checkParts())];
      if (left.length > 0) context.log(`repair: ${left.length} damage(s) remain: ${left.map(describeDamage).join('; ')}`);
      else context.log(`repair: done; ${damage.length} damage(s) repaired, ${days.length} day(s) rebuilt from the raw store`);
    }
    return { damage, full, summary };
  } finally {
    await stores.close();
  }
}
