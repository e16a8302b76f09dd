import type { Command } from 'commander';
import type { FilterOptions, StewardOptions } from './fix.js';
import type { CommandContext } from './context.js';
import type { CorrectionRegistry } from '../corrections/kinds/kind.js';
import { CORRECTION_KINDS } from '../corrections/kinds/registry.js';
import { OUTPUTS, outputOption } from '../render/output-option.js';
import { waitOption } from './shared-options.js';

type Options = StewardOptions & FilterOptions & Record<string, unknown>;
type Steward = typeof import('./fix.js');
/** What a steward command builds its change with: the `fix` command's parsers and the correction service's builders (flag, unflag). */
type ChangeTools = Steward & Pick<typeof import('../services/corrections.js'), 'changeBuilders'>;

/** The corrections machinery (stores, derivation) loads only when a steward command runs. */
const steward = (): Promise<Steward> => import('./fix.js');

/** The steward commands: fix (corrections), flag/unflag/flags and audit. Every change is recorded and reversible. */
export function registerStewardCommands(program: Command, context: () => CommandContext, kinds: CorrectionRegistry = CORRECTION_KINDS): void {
  const correct = async (command: string, options: Options, build: (tools: ChangeTools) => Parameters<Steward['recordCorrection']>[3]) => {
    const [fix, { changeBuilders }] = await Promise.all([steward(), import('../services/corrections.js')]);
    const ctx = context();
    await fix.recordCorrection(ctx, command, options, build({ ...fix, changeBuilders }), kinds);
  };
  const withStewardOptions = (command: Command, { filters = false }: { filters?: boolean } = {}) => {
    command
      .option('--reason <text>', 'why (required; kept in the audit log)')
      .option('--ticket <id>', 'a ticket or incident id for the audit log')
      .option('--actor <name>', 'who is acting (default: the OS user)')
      .option('--dry-run', 'show what would change and record nothing')
      .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
      .addOption(waitOption('writing the analytics store'))
      .addOption(outputOption(OUTPUTS.change));
    if (filters) {
      command
        .option('--event <name>', 'only events with this name')
        .option('--app-version <version>', 'only events from this app version')
        .option('--user <id>', 'only events of this (stitched) user')
        .option('--since <time>', 'only events from this time (ISO-8601, epoch, 2h, yesterday)')
        .option('--until <time>', 'only events before this time')
        .option('--tz <zone>', 'zone for zone-less times', 'UTC');
    }
    return command;
  };

  const fix = program.command('fix').description('record a correction to stored journeys (audited, reproduced by every reprocess, reversible)');
  // One subcommand per correction kind that declares a `cli` (src/corrections/kinds/): arguments, options and filters from the kind.
  for (const kind of kinds.kinds) {
    const cli = kind.cli;
    if (!cli) continue;
    const sub = fix.command(cli.command);
    for (const arg of cli.arguments ?? []) sub.argument(`<${arg.name}>`, arg.description);
    for (const option of cli.options ?? []) option.required ? sub.requiredOption(option.flags, option.description) : sub.option(option.flags, option.description);
    withStewardOptions(sub.description(cli.description), { filters: cli.filters === true }).action(async (...params: unknown[]) => {
      const args = params.slice(0, -2) as string[];
      const options = params[params.length - 2] as Options;
      await correct(`journeyctl fix ${cli.command}`, options, ({ fixChange }) => fixChange(kind, args, options));
    });
  }
  fix
    .command('list')
    .description('every correction, with who, when, why and whether it was reverted')
    .option('--since <time>')
    .option('--actor <name>')
    .option('--tz <zone>', 'zone for zone-less times', 'UTC')
    .addOption(outputOption(OUTPUTS.corrections))
    .action(async (options: { since?: string; actor?: string; tz: string; output?: string }) => void (await (await steward()).listCorrections(context(), options)));
  fix
    .command('show')
    .argument('<correction-id>')
    .description('one correction in full')
    .addOption(outputOption(OUTPUTS.prose))
    .action(async (id: string, options: { output?: string }) => (await steward()).showCorrection(context(), id, options));

  withStewardOptions(
    program
      .command('flag')
      .argument('[session-id]', 'the session to flag; or use the filters to flag every session with matching events')
      .option('--code <code>', 'the flag (snake_case); an automatic flag code confirms it', 'manual')
      .description('flag a session (or every session matching a filter) for people to look at; flagged sessions leave journey figures'),
    { filters: true },
  ).action(async (sessionId: string | undefined, options: Options & { code: string }) => {
    await correct('journeyctl flag', options, ({ changeBuilders, eventFilter }) =>
      sessionId ? changeBuilders.flagSession(sessionId, options.code) : changeBuilders.flagSessions(eventFilter(options, { required: true }), options.code),
    );
  });
  withStewardOptions(
    program
      .command('unflag')
      .argument('<session-id>')
      .option('--code <code>', 'the flag to clear (needed when the session has several)')
      .description('clear a flag, automatic or manual, from a session'),
  ).action(async (sessionId: string, options: Options & { code?: string }) => correct('journeyctl unflag', options, ({ changeBuilders }) => changeBuilders.unflagSession(sessionId, options.code)));
  program
    .command('flags')
    .description('flagged sessions: code, why and evidence')
    .option('--code <code>', 'only this flag')
    .option('--since <time>', 'sessions starting from this time')
    .option('--until <time>', 'sessions starting before this time')
    .option('--tz <zone>', 'zone for zone-less times', 'UTC')
    .addOption(outputOption(OUTPUTS.records))
    .addOption(waitOption())
    .action(async (options: { code?: string; since?: string; until?: string; tz: string; output?: string; wait: string }) => {
      const { runExport } = await import('./export.js');
      await runExport(context(), 'flags', { from: options.since, to: options.until, tz: options.tz, output: options.output, wait: options.wait, name: options.code });
    });
  program
    .command('audit')
    .description('every steward action (append-only): who, when, what, why')
    .option('--since <time>')
    .option('--actor <name>')
    .option('--tz <zone>', 'zone for zone-less times', 'UTC')
    .addOption(outputOption(OUTPUTS.corrections))
    .action(async (options: { since?: string; actor?: string; tz: string; output?: string }) => void (await (await steward()).listCorrections(context(), options)));
}
