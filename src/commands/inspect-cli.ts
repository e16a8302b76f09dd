import type { Command } from 'commander';
import type { CommandContext } from './context.js';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import type { InspectOptions } from './inspect.js';
import { INSPECT_KINDS } from './inspect-kinds.js';
import { waitOption } from './shared-options.js';

/** `journeyctl inspect` on the command tree; the stores and ink load when it runs. */
export function registerInspectCommand(program: Command, context: () => CommandContext): void {
  program
    .command('inspect')
    .description("a user's or a session's timeline: sessions, events, labels, flags, funnel outcomes, identity links and corrections")
    .argument('<kind>', INSPECT_KINDS.join(' | '))
    .argument('<id>', 'a user id (an anonymous id resolves to its user) or a session id')
    .addOption(outputOption(OUTPUTS.prose))
    .option('--html <file>', "also write the user's sessions as a self-contained HTML timeline to this file (inspect user only)")
    .option('--no-redact', 'show the fields the config lists under redact: (they are masked by default)')
    .addOption(waitOption())
    .action(async (kind: string, id: string, options: Omit<InspectOptions, 'color'>) => {
      const ctx = context();
      const { runInspect } = await import('./inspect.js');
      await runInspect(ctx, kind, id, { ...options, color: ctx.color });
    });
}
