import { Command, CommanderError, Option } from 'commander';
import { registerCheckCommand } from './commands/check-cli.js';
import { registerDashboardsCommand } from './commands/dashboards-cli.js';
import type { CommandContext, CommandIo, GlobalOptions } from './commands/context.js';
import { registerDoctorCommand } from './commands/doctor-cli.js';
import { EXPORT_KINDS } from './commands/export-kinds.js';
import { registerInspectCommand } from './commands/inspect-cli.js';
import { registerMigrateCommand } from './commands/migrate-cli.js';
import { registerProduceCommand } from './commands/produce-cli.js';
import { registerRepairCommand } from './commands/repair-cli.js';
import { registerStewardCommands } from './commands/steward-cli.js';
import { registerTailCommand } from './commands/tail-cli.js';
import { describeCause, isJourneyError, UsageError } from './errors.js';
import { OUTPUTS, outputOption, resolveOutput } from './render/output-option.js';

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
  const kafkaContext = (flags: { brokers?: string; topic?: string; group?: string }) =>
    createContext({ ...program.opts<GlobalOptions>(), brokers: flags.brokers, topic: flags.topic, group: flags.group }, io);

  program
    .command('run')
    .description('ingest NDJSON events (file, stdin or a Kafka topic) into the stores and derive sessions')
    .option('-i, --input <path>', 'NDJSON file, or - for stdin')
    .addOption(new Option('--source <kind>', 'file (--input) or kafka (a consumer group; stops on SIGINT/SIGTERM or a bound below)').choices(['file', 'kafka']).default('file'))
    .option('--brokers <list>', 'kafka: host:port[,host:port…]; env JOURNEY_KAFKA_BROKERS, config kafka.brokers')
    .option('--topic <name>', 'kafka: topic to consume; env JOURNEY_KAFKA_TOPIC, config kafka.topic')
    .option('--group <id>', 'kafka: consumer group (default journeyctl); env JOURNEY_KAFKA_GROUP, config kafka.group')
    .option('--wait <duration>', 'how long to wait for another process holding the embedded analytics store', '5m')
    .option('--no-progress', 'no progress bar even on a terminal')
    .option('--accept-all-rejected', 'store an input even when under 1% of its first 1,000 lines are valid events (default: stop, exit 2)')
    .option('--until-caught-up', 'kafka: a micro-batch: read what the partitions held at the start, store, commit, derive, exit 0')
    .option('--max-events <n>', 'kafka: stop cleanly after this many messages (commits what is stored, says the lag left)')
    .option('--max-duration <duration>', 'kafka: stop cleanly after this long, e.g. 4m (commits what is stored, says the lag left)')
    .option('--fail-on-lag', 'kafka: exit 1 when --max-events/--max-duration stopped the run with lag left')
    .addOption(outputOption(OUTPUTS.summary))
    .action(async (options: { input?: string; source: 'file' | 'kafka'; brokers?: string; topic?: string; group?: string; wait: string; progress: boolean; output?: string; acceptAllRejected?: boolean; untilCaughtUp?: boolean; maxEvents?: string; maxDuration?: string; failOnLag?: boolean }) => {
      const ctx = kafkaContext(options);
      const asJson = resolveOutput(options.output, OUTPUTS.summary, ctx.interactive) === 'json';
      const { formatSummaryText, runIngest, summaryRecord } = await import('./commands/run.js');
      const { checkLag, kafkaBoundsFor, kafkaSummary } = await import('./commands/kafka-run.js');
      const summary = await runIngest(ctx, { ...options, kafka: kafkaBoundsFor(options.source, options) });
      const kafka = summary.kafka ? kafkaSummary(summary.kafka) : null;
      io.stdout.write(asJson ? `${JSON.stringify({ ...summaryRecord(summary), ...kafka?.record })}\n` : `${formatSummaryText(summary)}${kafka?.text ?? ''}`);
      if (summary.kafka) checkLag(summary.kafka, Boolean(options.failOnLag));
    });

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
    .option('--wait <duration>', 'how long to wait for another process holding the embedded analytics store', '5m')
    .action(async (kind: string, options: { from?: string; to?: string; tz: string; output?: string; wait: string; fields?: string; limit?: string; user?: string; session?: string; event?: string; appVersion?: string; pager: boolean }) => {
      const { runExport } = await import('./commands/export.js');
      await runExport(context(), kind, options);
    });

  program
    .command('explain')
    .description('show why a session has its labels, flags and funnel outcomes, with the evidence events')
    .argument('<session-id>')
    .addOption(outputOption(OUTPUTS.prose))
    .option('--wait <duration>', 'how long to wait for another process holding the embedded analytics store', '5m')
    .action(async (sessionId: string, options: { output?: string; wait: string }) => {
      const { runExplain } = await import('./commands/explain.js');
      await runExplain(context(), sessionId, options);
    });

  program
    .command('report')
    .description('funnel conversion, label shares, flags, sessions per day and rejected accounting')
    .option('--from <time>', 'sessions starting from this time (inclusive)')
    .option('--to <time>', 'up to this time (exclusive)')
    .option('--tz <zone>', 'zone for zone-less times and today/yesterday', 'UTC')
    .option('--include-flagged', 'count flagged sessions in journey figures too')
    .option('--html <file>', 'write a self-contained HTML report (charts with their numbers, session timelines) to this file')
    .addOption(outputOption(OUTPUTS.report))
    .option('--wait <duration>', 'how long to wait for another process holding the embedded analytics store', '5m')
    .action(async (options: { from?: string; to?: string; tz: string; output?: string; includeFlagged?: boolean; wait: string }) => {
      const { runReport } = await import('./commands/report.js');
      await runReport(context(), { ...options, includeFlagged: Boolean(options.includeFlagged) });
    });

  program
    .command('reprocess')
    .description('rebuild the analytics store for a time range from the raw store, with today\'s config (idempotent, resumable)')
    .option('--from <time>', 'start of the range: ISO-8601, epoch, today/yesterday, or 2h/3d ago')
    .option('--to <time>', 'end of the range (exclusive)')
    .option('--tz <zone>', 'zone for zone-less times and today/yesterday (day partitions are UTC)', 'UTC')
    .option('--dry-run', 'show per day what would change (sessions, events, labels, flags before → after) and write nothing')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .option('--resume', 'continue an interrupted reprocess of the same range, skipping days already rebuilt')
    .option('--lookback <duration>', 'also re-derive users with events this close to the range (sessions crossing midnight)', '30m')
    .option('--concurrency <n>', 'days rebuilt at once', '1')
    .option('--wait <duration>', 'how long to wait for another process writing the analytics store', '5m')
    .addOption(outputOption(OUTPUTS.summary))
    .action(async (options: { from?: string; to?: string; tz: string; dryRun?: boolean; yes?: boolean; resume?: boolean; lookback: string; concurrency: string; wait: string; output?: string }) => {
      const { runReprocess } = await import('./commands/reprocess.js');
      await runReprocess(context(), { ...options, dryRun: Boolean(options.dryRun), yes: Boolean(options.yes), resume: Boolean(options.resume) });
    });

  registerStewardCommands(program, () => context());
  registerTailCommand(program, () => context());
  registerInspectCommand(program, () => context());
  registerProduceCommand(program, kafkaContext);
  registerMigrateCommand(program, kafkaContext);
  registerDoctorCommand(program, kafkaContext);
  registerRepairCommand(program, () => context());

  registerCheckCommand(program, () => context());
  registerDashboardsCommand(program, () => context());

  program
    .command('demo')
    .description('run the whole pipeline on the shipped fixtures in a fresh data directory and print what it found')
    .option('--keep', 'keep the demo data directory (it is printed) instead of removing it')
    .action(async (options: { keep?: boolean }) => {
      const { DEMO_CONFIG, runDemo } = await import('./commands/demo.js');
      await runDemo(context(DEMO_CONFIG), { keep: Boolean(options.keep), dataDirFlag: program.opts<GlobalOptions>().dataDir });
    });

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
