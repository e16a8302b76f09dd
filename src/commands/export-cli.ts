import type { Command } from 'commander';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { CommandContext } from './context.js';
import type { ExportOptions } from './export.js';
import { EXPORT_KINDS } from './export-kinds.js';
import { waitOption } from './shared-options.js';

/** `journeyctl export` on the command tree; the stores load when it runs. */
export function registerExportCommand(program: Command, context: () => CommandContext): void {
  program
    .command('export')
    .description(`write stored records to stdout: ${EXPORT_KINDS.join(' | ')}`)
    .argument('<kind>', EXPORT_KINDS.join(' | '))
    .option('--from <time>', 'from this time (inclusive): ISO-8601, epoch, now/today/yesterday, or 2h/3d ago')
    .option('--to <time>', 'up to this time (exclusive)')
    .option('--tz <zone>', 'zone for zone-less times and today/yesterday, and for the times a table shows', 'UTC')
    .option('--user <id>', 'only records of this user')
    .option('--session <id>', 'only records of this session')
    .option('--event <name>', 'only events with this name (sessions, labels, flags, journeys: sessions holding one)')
    .option('--app-version <version>', 'only records from this app version')
    .option('--fields <a,b,c>', 'only these fields, in this order (every format)')
    .option('-n, --limit <n>', 'at most this many records')
    .addOption(outputOption(OUTPUTS.records))
    .option('--no-pager', 'never page long output on a terminal (default: $PAGER, else less -FRX)')
    .addOption(waitOption())
    .action(async (kind: string, options: Omit<ExportOptions, 'name'>) => {
      const { runExport } = await import('./export.js');
      await runExport(context(), kind, options);
    });
}
