import type { Command } from 'commander';
import type { CommandContext } from './context.js';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import { waitOption } from './shared-options.js';

/** `journeyctl repair` on the command tree; the stores load when it runs. */
export function registerRepairCommand(program: Command, context: () => CommandContext): void {
  program
    .command('repair')
    .description('find damaged stores (deleted or garbled analytics parts and tables, parts of two data directories) and rebuild analytics from the raw store')
    .option('--dry-run', 'show what is damaged and which days would be rebuilt, and write nothing')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .option('--analytics-only', 'rebuild every day of analytics from the raw store as it is, also when the raw store is missing or empty')
    .addOption(waitOption('holding the stores'))
    .addOption(outputOption(OUTPUTS.summary))
    .action(async (options: { dryRun?: boolean; yes?: boolean; analyticsOnly?: boolean; wait: string; output?: string }) => {
      const { runRepair } = await import('./repair.js');
      await runRepair(context(), { ...options, dryRun: Boolean(options.dryRun), yes: Boolean(options.yes), analyticsOnly: Boolean(options.analyticsOnly) });
    });
}
