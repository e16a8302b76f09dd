import type { Command } from 'commander';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { CommandContext } from './context.js';
import { waitOption } from './shared-options.js';

/** `journeyctl report` on the command tree; the stores and the HTML report load when it runs. */
export function registerReportCommand(program: Command, context: () => CommandContext): void {
  program
    .command('report')
    .description('funnel conversion, label shares, flags, sessions per day and rejected accounting')
    .option('--from <time>', 'sessions starting from this time (inclusive)')
    .option('--to <time>', 'up to this time (exclusive)')
    .option('--tz <zone>', 'zone for zone-less times and today/yesterday', 'UTC')
    .option('--include-flagged', 'count flagged sessions in journey figures too')
    .option('--html <file>', 'write a self-contained HTML report (charts with their numbers, session timelines) to this file')
    .addOption(outputOption(OUTPUTS.report))
    .addOption(waitOption())
    .action(async (options: { from?: string; to?: string; tz: string; output?: string; includeFlagged?: boolean; wait: string }) => {
      const { runReport } = await import('./report.js');
      await runReport(context(), { ...options, includeFlagged: Boolean(options.includeFlagged) });
    });
}
