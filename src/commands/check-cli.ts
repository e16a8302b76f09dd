import type { Command } from 'commander';
import type { CommandContext } from './context.js';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { CheckRegistry } from '../checks/kinds/kind.js';
import type { CheckOptions } from './check.js';
import { CHECK_KINDS } from '../checks/kinds/registry.js';
import { waitOption } from './shared-options.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** `journeyctl check` on the command tree; the checks load when it runs. */
export function registerCheckCommand(program: Command, context: () => CommandContext, kinds: CheckRegistry = CHECK_KINDS): void {
  program
    .command('check')
    .description('run data-quality checks (freshness, volume, rates, values, flags, funnels, reconciliation, golden journeys, SQL); exit 1 when an error-severity check fails')
    .option('--checks <file>', "checks file (default: the config file's `checks` section)")
    .option('-s, --select <name|tag:TAG>', 'run only these checks (repeatable)', collect, [])
    .option('--exclude <name|tag:TAG>', 'leave these checks out (repeatable)', collect, [])
    .option('--from <time>', 'window start (inclusive): ISO-8601, epoch, today/yesterday, or 2h/3d ago')
    .option('--to <time>', 'window end (exclusive); freshness is measured at this time (default now)')
    .option('--tz <zone>', 'zone for zone-less times and today/yesterday', 'UTC')
    .option('--warn-error', 'treat warnings as failures (exit 1)')
    .addOption(outputOption(OUTPUTS.check))
    .option('--junit <file>', 'write JUnit XML (one testcase per check) for CI')
    .option('--results <file>', 'write the results as JSON')
    .option('--store-failures', "keep failing rows in the analytics store's check_failures table")
    .option('--update-golden', "write the golden_journeys expected files from today's derivation (review before committing)")
    .addOption(waitOption())
    .addHelpText('after', () => checkTypesHelp(kinds))
    .action(async (options: Omit<CheckOptions, 'warnError' | 'storeFailures' | 'updateGolden' | 'quiet'> & { warnError?: boolean; storeFailures?: boolean; updateGolden?: boolean }) => {
      const { runCheckCommand } = await import('./check.js');
      await runCheckCommand(context(), { ...options, warnError: Boolean(options.warnError), storeFailures: Boolean(options.storeFailures), updateGolden: Boolean(options.updateGolden) });
    });
}

/** The check types a checks file may use, from the registry (src/checks/kinds/). */
export function checkTypesHelp(kinds: CheckRegistry): string {
  const width = Math.max(...kinds.kinds.map((k) => k.type.length));
  return `\nCheck types (\`type:\` in a checks file):\n${kinds.kinds.map((k) => `  ${k.type.padEnd(width)}  ${k.summary}`).join('\n')}\n`;
}
