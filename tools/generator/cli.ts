/**
 * journeyctl-fixtures: write a seeded NDJSON event stream and its ground truth.
 *
 *   npm run fixtures -- --users 40 --seed 42 --out events.ndjson --truth events.truth.json --buggy-release
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { APPROX_LINES_PER_USER, createFixture, usersForEvents, type GeneratorOptions } from './generate.js';
import { formatTruth } from './truth.js';

export const USAGE = `Usage: journeyctl-fixtures --users N [options]

Writes synthetic product-analytics events (Segment/RudderStack spec, one JSON per line)
and, with --truth, the ground truth they were generated from. Same seed + options gives
byte-identical output.

Options:
  --users N            number of users (humans + ~3% bots)
  --events N           instead of --users: aim for about N lines (about ${APPROX_LINES_PER_USER} lines per user)
  --seed S             integer or string seed (default 1)
  --out FILE           write events here (default: stdout)
  --truth FILE         write the ground-truth JSON here
  --start ISO          period start (default 2026-01-05T00:00:00.000Z)
  --days D             period length in days (default 3)
  --buggy-release      a buggy app version (2.4.0-buggy) sends malformed events for 1 hour on day 2
  --no-noise           no duplicates, retries, late arrivals, clock skew, malformed lines
  --client-session-ids humans' events carry a tracker session id (context.sessionId) that
                       disagrees with the 30-minute gap: tabs, background returns, a reused id
  --cohort-size N      users generated (and time-ordered) together (default 500)
  --max-listed-ids N   cap on each per-line list in the truth's noiseDetail (default 10000)
  --no-truth-users     leave users[] out of the truth (counts only; for huge runs)
  --quiet              no summary on stderr
  -h, --help           this text
`;

class UsageError extends Error {}

function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

export function parseCliArgs(argv: string[]): { options: GeneratorOptions; out?: string; truth?: string; quiet: boolean } | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      users: { type: 'string' },
      events: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      truth: { type: 'string' },
      start: { type: 'string' },
      days: { type: 'string' },
      'buggy-release': { type: 'boolean' },
      'no-noise': { type: 'boolean' },
      'client-session-ids': { type: 'boolean' },
      'cohort-size': { type: 'string' },
      'max-listed-ids': { type: 'string' },
      'no-truth-users': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  let users = intArg('users', values.users);
  const events = intArg('events', values.events);
  if (users === undefined && events !== undefined) users = usersForEvents(events);
  if (users === undefined) throw new UsageError('--users N (or --events N) is required');
  const seedRaw = values.seed;
  const seed = seedRaw === undefined ? 1 : /^\d{1,10}$/.test(seedRaw) && Number(seedRaw) <= 0xffffffff ? Number(seedRaw) : seedRaw;
  let days: number | undefined;
  if (values.days !== undefined) {
    days = Number(values.days);
    if (!(days > 0)) throw new UsageError(`--days must be a positive number, got "${values.days}"`);
  }
  if (values.start !== undefined && Number.isNaN(Date.parse(values.start))) throw new UsageError(`--start is not an ISO date: "${values.start}"`);
  const options: GeneratorOptions = {
    users,
    seed,
    buggyRelease: values['buggy-release'] === true,
    noise: values['no-noise'] !== true,
    includeUsers: values['no-truth-users'] !== true,
  };
  if (values['client-session-ids'] === true) options.clientSessionIds = true;
  if (values.start !== undefined) options.start = values.start;
  if (days !== undefined) options.days = days;
  const cohortSize = intArg('cohort-size', values['cohort-size']);
  if (cohortSize !== undefined) options.cohortSize = cohortSize;
  const maxListed = intArg('max-listed-ids', values['max-listed-ids']);
  if (maxListed !== undefined) options.maxListedIds = maxListed;
  const result: { options: GeneratorOptions; out?: string; truth?: string; quiet: boolean } = { options, quiet: values.quiet === true };
  if (values.out !== undefined) result.out = values.out;
  if (values.truth !== undefined) result.truth = values.truth;
  return result;
}

async function writeAll(stream: Writable, lines: Iterable<string>): Promise<number> {
  const CHUNK = 1 << 20;
  let buf = '';
  let n = 0;
  for (const line of lines) {
    buf += line + '\n';
    n++;
    if (buf.length >= CHUNK) {
      if (!stream.write(buf)) await once(stream, 'drain');
      buf = '';
    }
  }
  if (buf.length > 0 && !stream.write(buf)) await once(stream, 'drain');
  return n;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(argv);
  } catch (err) {
    process.stderr.write(`journeyctl-fixtures: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const { options, out, truth: truthPath, quiet } = parsed;
  let fixture: ReturnType<typeof createFixture>;
  try {
    fixture = createFixture(options);
  } catch (err) {
    process.stderr.write(`journeyctl-fixtures: ${(err as Error).message}\n`);
    return 2;
  }
  const stream: Writable = out === undefined ? process.stdout : createWriteStream(out);
  let broken = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    broken = true;
    if (err.code !== 'EPIPE') process.stderr.write(`journeyctl-fixtures: ${err.message}\n`);
  });
  const t0 = performance.now();
  let lines: number;
  try {
    lines = await writeAll(stream, {
      *[Symbol.iterator]() {
        for (const l of fixture.lines) {
          if (broken) return;
          yield l;
        }
      },
    });
  } catch (err) {
    // A reader that goes away early (`| head`) is not an error.
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 0;
    process.stderr.write(`journeyctl-fixtures: ${(err as Error).message}\n`);
    return 1;
  }
  if (broken) return out === undefined ? 0 : 1;
  if (out !== undefined) {
    stream.end();
    await once(stream, 'finish');
  }
  const seconds = (performance.now() - t0) / 1000;
  const truth = fixture.truth();
  if (truthPath !== undefined) await writeFile(truthPath, formatTruth(truth));
  if (!quiet) {
    const c = truth.counts;
    process.stderr.write(
      `journeyctl-fixtures: ${lines} lines (${c.validEvents} valid, ${c.duplicates} duplicates, ${c.retriedDuplicates} retries, ` +
        `${c.malformedTotal} malformed, ${c.buggy} buggy-release) for ${c.humans} humans + ${c.bots} bots, ${c.sessions} sessions ` +
        `in ${seconds.toFixed(2)} s (${Math.round(lines / Math.max(seconds, 1e-9))} lines/s)\n`,
    );
  }
  return 0;
}
