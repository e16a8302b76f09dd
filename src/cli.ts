import { Command, CommanderError } from 'commander';
import { registerCheckCommand } from './commands/check-cli.js';
import { registerDashboardsCommand } from './commands/dashboards-cli.js';
import type { CommandContext, CommandIo, GlobalOptions } from './commands/context.js';
import { registerDemoCommand } from './commands/demo-cli.js';
import { registerDoctorCommand } from './commands/doctor-cli.js';
import { registerExplainCommand } from './commands/explain-cli.js';
import { registerExportCommand } from './commands/export-cli.js';
import { registerInspectCommand } from './commands/inspect-cli.js';
import { registerMigrateCommand } from './commands/migrate-cli.js';
import { registerProduceCommand } from './commands/produce-cli.js';
import { registerRepairCommand } from './commands/repair-cli.js';
import { registerReportCommand } from './commands/report-cli.js';
import { registerReprocessCommand } from './commands/reprocess-cli.js';
import { registerRunCommand } from './commands/run-cli.js';
import { registerStewardCommands } from './commands/steward-cli.js';
import { registerTailCommand } from './commands/tail-cli.js';
import { type StreamFlags, streamOverrides } from './commands/stream-flags.js';
import { describeCause, isJourneyError, UsageError } from './errors.js';

const VERSION = '0.1.0';

/**
 * Builds the command tree. Commands stay thin: flags → options → action → renderer.
 * Start-up stays fast: this module and the `*-cli.ts` files it registers hold only names,
 * descriptions and options; each action imports its implementation (stores, drivers, ink)
 * when it runs, so `--help`, `--version` and every command load only what they use.
 */
export function buildProgram(io: CommandIo): Command {
  const program = new Command('journeyctl')
    .description('Customer-journey data stewardship and replay: validate, dedupe, stitch, sessionize and store product-analytics events.')
    .version(VERSION)
    .option('-c, --config <file>', 'config file (YAML or JSON); env JOURNEY_CONFIG')
    .option('-d, --data-dir <dir>', 'data directory of the embedded stores; env JOURNEY_DATA_DIR (default ./.journeyctl)')
    .option('--mongo-url <url>', 'MongoDB connection string for the raw store; env JOURNEY_MONGO_URL')
    .option('--clickhouse-url <url>', 'ClickHouse HTTP URL for the analytics store; env JOURNEY_CLICKHOUSE_URL')
    .option('--bigquery-dataset <[project.]dataset>', 'BigQuery dataset for the analytics store; env JOURNEY_BIGQUERY_DATASET')
    .option('--max-bytes-billed <bytes>', 'BigQuery: refuse any query that would bill more bytes; env JOURNEY_BIGQUERY_MAX_BYTES_BILLED')
    .option('--log-format <format>', 'messages on stderr as text or json (for cron)', 'text')
    .option('--no-color', 'no colour in output (also NO_COLOR, TERM=dumb)')
    .option('--debug', 'print stack traces of errors')
    .option('--strict-config', 'unknown config keys are an error (exit 2), not a warning')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });

  // The config machinery (yaml) loads before any action runs, so actions build their context synchronously.
  let contexts: typeof import('./commands/context.js') | undefined;
  program.hook('preAction', async () => {
    contexts ??= await import('./commands/context.js');
  });
  const createContext = (...args: Parameters<(typeof import('./commands/context.js'))['createContext']>): CommandContext => {
    if (!contexts) throw new Error('the command context was asked for before the action started');
    return contexts.createContext(...args);
  };
  const context = (fallbackConfigPath?: string) => createContext(program.opts<GlobalOptions>(), io, fallbackConfigPath);
  const kafkaContext = (flags: StreamFlags) => createContext({ ...program.opts<GlobalOptions>(), ...streamOverrides(flags) }, io);

  registerRunCommand(program, kafkaContext);
  registerExportCommand(program, () => context());
  registerExplainCommand(program, () => context());
  registerReportCommand(program, () => context());
  registerReprocessCommand(program, () => context());
  registerStewardCommands(program, () => context());
  registerTailCommand(program, kafkaContext);
  registerInspectCommand(program, () => context());
  registerProduceCommand(program, kafkaContext);
  registerMigrateCommand(program, kafkaContext);
  registerDoctorCommand(program, kafkaContext);
  registerRepairCommand(program, () => context());

  registerCheckCommand(program, () => context());
  registerDashboardsCommand(program, () => context());

  registerDemoCommand(program, context);

  return program;
}

/** The one exit point: maps errors to exit codes and one-line messages (stacks only with --debug). */
export async function main(argv: string[], io: CommandIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    // With --log-format json the last line is one JSON object cron can parse: level, message, hint, exit_code.
    const json = logFormatOf(argv) === 'json';
    const fatal = (message: string, hint: string | undefined, exitCode: number) => {
      if (json) io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', message, hint: hint ?? null, exit_code: exitCode })}\n`);
      else io.stderr.write(`journeyctl: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`);
      return exitCode;
    };
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      // Commander already printed the message; usage errors are 2, not commander's 1.
      return json ? fatal(error.message.replace(/^error: /, ''), 'run with --help for usage', 2) : 2;
    }
    const debug = argv.includes('--debug');
    if (isJourneyError(error)) {
      if (debug && error.cause) io.stderr.write(`${(error.cause as Error).stack ?? String(error.cause)}\n`);
      if (debug) io.stderr.write(`${error.stack}\n`);
      return fatal(error.message, error.hint, error.exitCode);
    }
    if (debug) io.stderr.write(`${(error as Error).stack}\n`);
    return fatal(`internal error (this is a bug): ${describeCause(error)}`, debug ? 'report it with the stack trace above' : 're-run with --debug for the stack trace and report it', 3);
  }
}

/** `--log-format` as given on the command line, read without commander (which may be what failed). */
function logFormatOf(argv: readonly string[]): string | undefined {
  let format: string | undefined;
  argv.forEach((arg, index) => {
    if (arg === '--log-format') format = argv[index + 1];
    else if (arg.startsWith('--log-format=')) format = arg.slice('--log-format='.length);
  });
  return format;
}

export { UsageError };
