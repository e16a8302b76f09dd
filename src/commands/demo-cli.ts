import type { Command } from 'commander';
import type { CommandContext, GlobalOptions } from './context.js';

/** `journeyctl demo` on the command tree; the pipeline and the shipped fixtures load when it runs. */
export function registerDemoCommand(program: Command, context: (fallbackConfigPath?: string) => CommandContext): void {
  program
    .command('demo')
    .description('run the whole pipeline on the shipped fixtures in a fresh data directory and print what it found')
    .option('--keep', 'keep the demo data directory (it is printed) instead of removing it')
    .action(async (options: { keep?: boolean }) => {
      const { DEMO_CONFIG, runDemo } = await import('./demo.js');
      await runDemo(context(DEMO_CONFIG), { keep: Boolean(options.keep), dataDirFlag: program.opts<GlobalOptions>().dataDir });
    });
}
