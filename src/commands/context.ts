import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import type { JourneyConfig } from '../config/config.js';
import { checksParser } from '../checks/definitions.js';
import { resolveConfig, type ConfigOverrides } from '../config/config.js';
import { isDateOnly, isValidZone, parseDurationMs, parseUserTime } from '../domain/time.js';
import { UsageError } from '../errors.js';
import { colorEnabled } from '../render/terminal.js';
import { REGISTERED_ENGINE_NAMES } from '../stores/engine-names.js';

/** Everything a command may touch of the outside world, handed in once (tests pass their own). */
export interface CommandIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: Readable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
  mongoUrl?: string;
  clickhouseUrl?: string;
  bigqueryDataset?: string;
  /** BigQuery: the bytes cap of every query (stores.analytics.max_bytes_billed). */
  maxBytesBilled?: string;
  debug?: boolean;
  color?: boolean;
  logFormat?: string;
  /** Config warnings (unknown keys) are errors (exit 2). */
  strictConfig?: boolean;
  /** Kafka flags of the commands that have them (run, produce, doctor). */
  brokers?: string;
  topic?: string;
  group?: string;
  /** Pub/Sub flags of the commands that have them: --project, and --topic/--subscription when the command uses Pub/Sub. */
  project?: string;
  pubsubTopic?: string;
  subscription?: string;
  /** `source:` (kafka | pubsub) as a flag chose it (run --source, produce --sink). */
  streamSource?: string;
}

export interface CommandContext {
  io: CommandIo;
  config: JourneyConfig;
  /** A message for people (stderr): text, or one JSON object per line with --log-format json. */
  log(message: string, fields?: Record<string, unknown>): void;
  interactive: boolean;
  /** Colour and other styling allowed on stdout (src/render/terminal.ts decides, once). */
  color: boolean;
}

/** `fallbackConfigPath` is used when neither --config nor JOURNEY_CONFIG names a file (the demo's shipped config). */
export function createContext(global: GlobalOptions, io: CommandIo, fallbackConfigPath?: string): CommandContext {
  const configPath = global.config ?? (io.env.JOURNEY_CONFIG ? undefined : fallbackConfigPath);
  const overrides: ConfigOverrides = {
    configPath,
    dataDir: global.dataDir,
    mongoUrl: global.mongoUrl,
    clickhouseUrl: global.clickhouseUrl,
    bigquery: { dataset: global.bigqueryDataset, maxBytesBilled: global.maxBytesBilled },
    kafka: { brokers: global.brokers, topic: global.topic, group: global.group },
    pubsub: { project: global.project, topic: global.pubsubTopic, subscription: global.subscription },
    streamSource: global.streamSource,
  };
  // The config hands its `checks` section to the check types' registry (config sits below checks),
  // and checks `stores.*.engine` against the registered engines' names (config sits below stores).
  const resolved = resolveConfig(overrides, io.env, { checks: checksParser(), engines: REGISTERED_ENGINE_NAMES });
  if (!resolved.ok) {
    throw new UsageError(resolved.errors.length === 1 ? resolved.errors[0]! : `the configuration has ${resolved.errors.length} problems:\n  ${resolved.errors.join('\n  ')}`, {
      hint: 'fix the config file (see README: Configuration) or the flag named above',
    });
  }
  const logFormat = global.logFormat ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new UsageError(`--log-format must be text or json (got "${logFormat}")`);
  const log = (message: string, fields: Record<string, unknown> = {}) => {
    if (logFormat === 'json') io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', message, ...fields })}\n`);
    else io.stderr.write(`${message}\n`);
  };
  if (global.strictConfig && resolved.warnings.length > 0) {
    throw new UsageError(resolved.warnings.length === 1 ? resolved.warnings[0]! : `the configuration has ${resolved.warnings.length} problems:\n  ${resolved.warnings.join('\n  ')}`, {
      hint: 'fix the config file, or drop --strict-config to only warn',
    });
  }
  for (const warning of resolved.warnings) log(`warning: ${warning}`);
  return { io, config: resolved.config, log, interactive: Boolean(io.stdout.isTTY) && !io.env.CI, color: colorEnabled(io.stdout, io.env, global.color) };
}

/** `--tz`: a zone that does not exist is a bad --tz, whatever flag it was going to read. */
export function checkZoneFlag(zone: string): void {
  if (!isValidZone(zone)) throw new UsageError(`--tz "${zone}" is not a time zone`, { hint: 'use an IANA zone such as UTC, Europe/Berlin or America/New_York' });
}

export function parseTimeFlag(name: string, value: string | undefined, zone: string): number | undefined {
  if (value === undefined) return undefined;
  checkZoneFlag(zone);
  const parsed = parseUserTime(value, zone);
  if (parsed === null) {
    throw new UsageError(`--${name} "${value}" is not a time`, { hint: 'use ISO-8601 (2026-01-05T10:00:00Z), 2026-01-05 10:00:00.000, epoch, now/today/yesterday, or a relative 2h/3d' });
  }
  return parsed;
}

/** A time range from two flags, end exclusive; either end may be open. */
export interface TimeBounds {
  from: number | undefined;
  to: number | undefined;
}

/**
 * Two time flags as one validated range (end exclusive): the one place that says
 * "--from must be before --to" (or --since/--until). The end on the same date as the start,
 * given as a date alone, means that whole day: `--from 2026-01-05 --to 2026-01-05` is the 5th.
 */
export function parseTimeBounds(start: { flag: string; value: string | undefined }, end: { flag: string; value: string | undefined }, zone: string): TimeBounds {
  const from = parseTimeFlag(start.flag, start.value, zone);
  let to = parseTimeFlag(end.flag, end.value, zone);
  if (to !== undefined && from !== undefined && to === from && isDateOnly(end.value!)) to = parseUserTime('tomorrow', zone, to) ?? to;
  if (from !== undefined && to !== undefined && from >= to) throw new UsageError(`--${start.flag} must be before --${end.flag}`);
  return { from, to };
}

/** `--from`/`--to`/`--tz` as a validated range (see parseTimeBounds). */
export function parseTimeRange(options: { from?: string; to?: string; tz: string }): TimeBounds {
  return parseTimeBounds({ flag: 'from', value: options.from }, { flag: 'to', value: options.to }, options.tz);
}

export function parseDurationFlag(name: string, value: string): number {
  const parsed = parseDurationMs(value);
  if (parsed === null) throw new UsageError(`--${name} "${value}" is not a duration`, { hint: 'use e.g. 30s, 5m, 2h' });
  return parsed;
}

/** Asks a yes/no question on the terminal (stderr), defaulting to no. Callers only ask when stdin and stdout are TTYs. */
export async function confirm(context: CommandContext, question: string): Promise<boolean> {
  const prompt = createInterface({ input: context.io.stdin, output: context.io.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}
