import type { Command } from 'commander';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { CommandContext } from './context.js';
import { waitOption } from './shared-options.js';

/** `journeyctl reprocess` on the command tree; the stores and the derivation load when it runs. */
export function registerReprocessCommand(program: Command, context: () => CommandContext): void {
  program
    .command('reprocess')
    .description("rebuild the analytics store for a time range from the raw store, with today's config (idempotent, resumable)")
    .option('--from <time>', 'start of the range: ISO-8601, epoch, today/yesterday, or 2h/3d ago')
    .option('--to <time>', 'end of the range (exclusive)')
    .option('--tz <zone>', 'zone for zone-less times and today/yesterday (day partitions are UTC)', 'UTC')
    .option('--dry-run', 'show per day what would change (sessions, events, labels, flags before → after) and write nothing')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .option('--resume', 'continue an interrupted reprocess of the same range, skipping days already rebuilt')
    .option('--lookback <duration>', 'also re-derive users with events this close to the range (sessions crossing midnight); default: pipeline.session_inactivity (30m)')
    .option('--concurrency <n>', 'days rebuilt at once', '1')
    .addOption(waitOption('writing the analytics store'))
    .addOption(outputOption(OUTPUTS.summary))
    .action(async (options: { from?: string; to?: string; tz: string; dryRun?: boolean; yes?: boolean; resume?: boolean; lookback?: string; concurrency: string; wait: string; output?: string }) => {
      const { runReprocess } = await import('./reprocess.js');
      await runReprocess(context(), { ...options, dryRun: Boolean(options.dryRun), yes: Boolean(options.yes), resume: Boolean(options.resume) });
    });
}
