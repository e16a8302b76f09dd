import type { Command } from 'commander';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { CommandContext } from './context.js';
import { waitOption } from './shared-options.js';

/** `journeyctl explain` on the command tree; the stores load when it runs. */
export function registerExplainCommand(program: Command, context: () => CommandContext): void {
  program
    .command('explain')
    .description('show why a session has its labels, flags and funnel outcomes, with the evidence events')
    .argument('<session-id>')
    .addOption(outputOption(OUTPUTS.prose))
    .addOption(waitOption())
    .action(async (sessionId: string, options: { output?: string; wait: string }) => {
      const { runExplain } = await import('./explain.js');
      await runExplain(context(), sessionId, options);
    });
}
