import type { Command } from 'commander';
import type { FilterOptions, StewardOptions } from './fix.js';
import type { CommandContext } from './context.js';
import { OUTPUTS, outputOption } from '../render/output-option.js';

type Options = StewardOptions & FilterOptions & Record<string, unknown>;
type Steward = typeof import('./fix.js');

/** The corrections machinery (stores, derivation) loads only when a steward command runs. */
const steward = (): Promise<Steward> => import('./fix.js');

/** The steward commands: fix (corrections), flag/unflag/flags and audit. Every change is recorded and reversible. */
export function registerStewardCommands(program: Command, context: () => CommandContext): void {
  const correct = async (command: string, options: Options, build: (fix: Steward) => Parameters<Steward['recordCorrection']>[3]) => {
    const fix = await steward();
    const ctx = context();
    await fix.recordCorrection(ctx, command, options, build(fix));
  };
  const withStewardOptions = (command: Command, { filters = false }: { filters?: boolean } = {}) => {
    command
      .option('--reason <text>', 'why (required; kept in the audit log)')
      .option('--ticket <id>', 'a ticket or incident id for the audit log')
      .option('--actor <name>', 'who is acting (default: the OS user)')
      .option('--dry-run', 'show what would change and record nothing')
      .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
      .option('--wait <duration>', 'how long to wait for another process writing the analytics store', '5m')
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
  withStewardOptions(fix.command('merge-users').argument('<from>').argument('<into>').description('these ids are one person: merge <from> into <into>')).action(
    async (from: string, into: string, options: Options) => correct('journeyctl fix merge-users', options, ({ changeBuilders }) => changeBuilders.mergeUsers(from, into)),
  );
  withStewardOptions(fix.command('unmerge-users').argument('<a>').argument('<b>').description('these ids are different people: never link them')).action(
    async (a: string, b: string, options: Options) => correct('journeyctl fix unmerge-users', options, ({ changeBuilders }) => changeBuilders.unmergeUsers(a, b)),
  );
  withStewardOptions(fix.command('split-session').argument('<session-id>').requiredOption('--at <message-id>', 'the event that starts the new session').description('start a new session at an event')).action(
    async (sessionId: string, options: Options & { at: string }) => correct('journeyctl fix split-session', options, ({ changeBuilders }) => changeBuilders.splitSession(sessionId, options.at)),
  );
  withStewardOptions(fix.command('merge-sessions').argument('<session-1>').argument('<session-2>').description('join two adjacent sessions of one user')).action(
    async (first: string, second: string, options: Options) => correct('journeyctl fix merge-sessions', options, ({ changeBuilders }) => changeBuilders.mergeSessions(first, second)),
  );
  withStewardOptions(fix.command('move-event').argument('<message-id>').requiredOption('--to-session <session-id>', 'the session the event belongs to').description('put an event into another session of the same user')).action(
    async (messageId: string, options: Options & { toSession: string }) => correct('journeyctl fix move-event', options, ({ changeBuilders }) => changeBuilders.moveEvent(messageId, options.toSession)),
  );
  withStewardOptions(fix.command('drop-events').description('leave matching events out of analytics (they stay in the raw store)'), { filters: true }).action(
    async (options: Options) => correct('journeyctl fix drop-events', options, ({ changeBuilders, eventFilter }) => changeBuilders.dropEvents(eventFilter(options, { required: true }))),
  );
  withStewardOptions(fix.command('rename-event').argument('<from>').argument('<to>').option('--app-version <version>', 'only events from this app version').description('rename an event a buggy release misnamed')).action(
    async (from: string, to: string, options: Options & { appVersion?: string }) =>
      correct('journeyctl fix rename-event', options, ({ changeBuilders }) => changeBuilders.renameEvent(from, to, options.appVersion)),
  );
  withStewardOptions(fix.command('set-property').argument('<property>').argument('<value>', 'JSON, or a plain string').description('set a property on matching events'), { filters: true }).action(
    async (property: string, value: string, options: Options) =>
      correct('journeyctl fix set-property', options, ({ changeBuilders, eventFilter }) => changeBuilders.setProperty(property, value, eventFilter(options, { required: true }))),
  );
  withStewardOptions(fix.command('revert').argument('<correction-id>').description('undo a correction (itself recorded); the result equals never having applied it')).action(
    async (id: string, options: Options) => correct('journeyctl fix revert', options, ({ changeBuilders }) => changeBuilders.revert(id)),
  );
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
    .option('--wait <duration>', 'how long to wait for another process holding the embedded analytics store', '5m')
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
