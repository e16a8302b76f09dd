// README.md's shell examples, as the README tests run them (test/readme-examples.test.ts: the
// embedded stores; test/readme-examples.integration.test.ts: the real services). One extraction,
// one clone set-up, one runner for both tiers.
//
// A block may be preceded by a marker:
//   <!-- readme-test: not run: REASON -->   listed with its reason, never run
//   <!-- readme-test: integration -->       run by the integration tier against the test services
// Unmarked blocks run in the e2e tier. A line expects exit 0 unless its comment says `exits N`.
// A line that runs until it is stopped (`--follow` without `--limit`/`--until`, `run --source
// kafka` without `--until-caught-up`) is stopped with SIGINT once it has shown what it is for, as
// a person's Ctrl-C, and expects exit 130 unless its comment says otherwise.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

export const REPO = join(import.meta.dirname, '..', '..');
export const BIN = join(REPO, 'bin', 'journeyctl.js');

export interface Example {
  line: number;
  command: string;
  expectedExit: number;
  /** Runs until stopped (see the header): the runner stops it with SIGINT. */
  untilStopped: boolean;
}
export interface Block {
  line: number;
  heading: string;
  tier: 'e2e' | 'integration' | 'not run';
  notRun: string | undefined;
  examples: Example[];
}

/** The README's sh/bash/shell blocks, with their marker and one command per logical line. */
export function readmeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i += 1) {
    const text = lines[i]!;
    if (/^#{1,6} /.test(text)) heading = text.replace(/^#+ /, '');
    const fence = /^```(sh|bash|shell)\s*$/.exec(text);
    if (!fence) continue;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before -= 1;
    const marker = before >= 0 ? /^<!--\s*readme-test:\s*(not run|integration)\s*(?::\s*(.*?))?\s*-->$/.exec(lines[before]!.trim()) : null;
    const examples: Example[] = [];
    let j = i + 1;
    let pending = '';
    let start = 0;
    for (; j < lines.length && !lines[j]!.startsWith('```'); j += 1) {
      const raw = lines[j]!;
      if (pending === '') start = j + 1;
      if (raw.endsWith('\\')) {
        pending += `${raw.slice(0, -1)} `;
        continue;
      }
      const command = (pending + raw).trim();
      pending = '';
      if (command === '' || command.startsWith('#')) continue;
      const comment = /\s#\s(.*)$/.exec(command)?.[1] ?? '';
      const exit = /\bexits (\d+)\b/.exec(comment); // `exits 1 on the demo data`, not `exit 3 when something is down`
      const untilStopped = (/\s--follow\b|\s-f\b/.test(command) && !/\s--(limit|until)\b|\s-n\b/.test(command)) || (/\brun --source kafka\b/.test(command) && !/--until-caught-up/.test(command));
      examples.push({ line: start, command, expectedExit: exit ? Number(exit[1]) : untilStopped ? 130 : 0, untilStopped });
    }
    const tier = marker?.[1] === 'not run' ? 'not run' : marker?.[1] === 'integration' ? 'integration' : 'e2e';
    blocks.push({ line: i + 1, heading, tier, notRun: tier === 'not run' ? (marker?.[2] ?? '') : undefined, examples });
    i = j;
  }
  return blocks;
}

export const README_BLOCKS = readmeBlocks(readFileSync(join(REPO, 'README.md'), 'utf8'));

/** A temp directory that looks like the clone after the set-up commands, with the demo's store. */
export interface ReadmeClone {
  work: string;
  clone: string;
  /** The demo's data directory as `demo` left it; each block runs on its own copy. */
  demoData: string;
  env: Record<string, string>;
  placeholders: Map<string, string>;
  /** Runs this checkout's CLI with the clone's environment (for the test's own look-ups). */
  journeyctl(args: string[], env?: Record<string, string>): string;
  dispose(): void;
}

interface SessionRow {
  session_id: string;
  user_id: string;
  anonymous_ids: string[];
  event_count: number;
  started_at: string;
  flags: string[];
}

/**
 * The set-up commands' effect: this checkout, built, in a temp directory that looks like the
 * clone (package.json copied, the rest of the checkout linked), with `journeyctl` on the PATH as
 * `npm link` puts it and `npx journeyctl` resolved to the same bin (npm's own part needs no test,
 * and a first npx call spends ~40 s linking the package into npm's cache). Then the demo, kept.
 */
export function prepareReadmeClone({ demo: runDemo = true }: { demo?: boolean } = {}): ReadmeClone {
  const work = mkdtempSync(join(tmpdir(), 'journeyctl-readme-'));
  const clone = join(work, 'clone');
  mkdirSync(clone);
  copyFileSync(join(REPO, 'package.json'), join(clone, 'package.json'));
  // Everything else of the checkout (sources, tools, tsconfigs, builds), so that npm scripts such as `fixtures` run too.
  // Directories and tsconfigs only: files the README's lines write (events.csv, truth.json, …) stay in the clone.
  // dist-tools/ appears only once `npm run fixtures` builds it; made now so the clone links it like
  // the other builds, and bin/journeyctl-fixtures.js (resolved in the checkout) finds what the line built.
  mkdirSync(join(REPO, 'dist-tools'), { recursive: true });
  for (const entry of readdirSync(REPO, { withFileTypes: true })) {
    if (!entry.name.startsWith('.') && (entry.isDirectory() || /^tsconfig.*\.json$/.test(entry.name))) symlinkSync(join(REPO, entry.name), join(clone, entry.name));
  }
  copyFileSync(join(REPO, 'fixtures', 'demo.ndjson'), join(clone, 'events.ndjson'));
  const shims = join(work, 'bin');
  mkdirSync(shims);
  writeFileSync(join(shims, 'journeyctl'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
  writeFileSync(join(shims, 'npx'), '#!/bin/sh\nif [ "$1" = journeyctl ]; then shift; exec journeyctl "$@"; fi\necho "npx $1: not this package" >&2\nexit 127\n');
  for (const shim of ['journeyctl', 'npx']) chmodSync(join(shims, shim), 0o755);
  const demoData = join(work, 'demo-data');
  const env = { PATH: `${shims}:${process.env.PATH}`, JOURNEY_DATA_DIR: demoData, HOME: work, NO_COLOR: '1' };
  const journeyctl = (args: string[], extra: Record<string, string> = {}): string =>
    execFileSync(process.execPath, [BIN, ...args], { cwd: clone, encoding: 'utf8', env: { ...process.env, ...env, ...extra }, maxBuffer: 1 << 26 });

  const dispose = () => rmSync(work, { recursive: true, force: true });
  if (!runDemo) return { work, clone, demoData, env, placeholders: new Map(), journeyctl, dispose };
  const demo = journeyctl(['--data-dir', demoData, 'demo']);
  // The demo's one FAIL is announced as expected (README "Set-up", src/commands/demo.ts).
  expect(demo).toMatch(/FAIL\s+rejected_rate_by_version/);
  expect(demo).toMatch(/^Expected: .*rejected_rate_by_version FAIL.*buggy release/m);

  return { work, clone, demoData, env, placeholders: demoPlaceholders(journeyctl), journeyctl, dispose };
}

/** Values for the README's placeholders, taken from the demo's store so that every line does what it says. */
function demoPlaceholders(journeyctl: (args: string[]) => string): Map<string, string> {
  const ndjson = <T>(args: string[]): T[] =>
    journeyctl([...args, '--output', 'ndjson'])
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as T);
  const sessions = ndjson<SessionRow>(['export', 'sessions']);
  const identified = (s: SessionRow) => s.anonymous_ids.length > 0 && !s.anonymous_ids.includes(s.user_id);
  const byUser = new Map<string, SessionRow[]>();
  for (const session of sessions) byUser.set(session.user_id, [...(byUser.get(session.user_id) ?? []), session]);
  // A person who was anonymous first and then identified: the merge/unmerge story and `inspect user`.
  const person = sessions.find(identified) ?? sessions[0]!;
  // A visitor never identified (and no bot): merged into `person` by `fix merge-users`.
  const visitor = [...byUser.values()].find((list) => list.every((s) => s.anonymous_ids.includes(s.user_id) && !s.flags.includes('bot_like')))!;
  // Another person with two sessions: the session-level fixes, apart from the identity fixes.
  const twice = [...byUser.values()].find((list) => list.length >= 2 && identified(list[0]!) && list[0]!.user_id !== person.user_id && list.slice(1).some((s) => s.event_count >= 3))!;
  // `fix merge-sessions` joins adjacent sessions: the one before (the split part lies after it).
  const ordered = [...twice].sort((a, b) => a.started_at.localeCompare(b.started_at));
  const at = Math.max(
    1,
    ordered.findIndex((s, i) => i > 0 && s.event_count >= 3),
  );
  const session = ordered[at]!;
  const other = ordered[at - 1]!;
  const events = ndjson<{ session_id: string; message_id: string; event: string; properties: Record<string, unknown> }>(['export', 'events', '--session', session.session_id]);
  const bot = sessions.find((s) => s.flags.includes('bot_like'))!;
  const cart = ndjson<{ properties: Record<string, unknown> }>(['export', 'events', '--event', 'checkout_started', '--limit', '1'])[0]!;
  expect({ person, visitor, twice, bot, cart }, 'the demo data has the shapes the README examples need').toEqual({
    person: expect.anything(),
    visitor: expect.anything(),
    twice: expect.anything(),
    bot: expect.anything(),
    cart: expect.anything(),
  });
  return new Map([
    ['<session-id>', session.session_id],
    ['<session_id>', session.session_id],
    ['<session-1>', session.session_id],
    ['<session-2>', other.session_id],
    ['<message-id>', events[Math.floor(events.length / 2)]!.message_id],
    ['<bot-session-id>', bot.session_id],
    ['<user-id>', person.user_id],
    ['<anon-id>', person.anonymous_ids[0]!],
    ['<visitor-id>', visitor[0]!.user_id],
    ['<cart-id>', String(cart.properties['cart_id'])],
  ]);
}

/** The command with the demo's values for its placeholders; an unknown placeholder fails the test. */
export function fillPlaceholders(command: string, placeholders: Map<string, string>, where: string): string {
  let filled = command;
  for (const [name, value] of placeholders) filled = filled.split(name).join(value);
  expect(filled, `unknown placeholder in ${where}: add a value in test/helpers/readme.ts or mark the block`).not.toMatch(/<[a-z][a-z0-9_-]*>|…/);
  return filled;
}

/** A fresh copy of the demo's store for one block, so each block starts from what `demo` left. */
export function blockDataDir(clone: ReadmeClone, block: Block): string {
  const dir = join(clone.work, `data-${block.line}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(clone.demoData, dir, { recursive: true });
  return dir;
}

/** `export A=1 B=2` lines set the block's environment for its later lines (each line is its own shell). */
export function exportedVariables(command: string): Record<string, string> | null {
  const match = /^export\s+(.*?)\s*(?:#.*)?$/.exec(command);
  if (!match) return null;
  const vars: Record<string, string> = {};
  for (const assignment of match[1]!.split(/\s+/)) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new Error(`cannot read the export line: ${command}`);
    vars[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return vars;
}

export interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  /** For a line that runs until stopped: true once it shows it is doing its job (checked on its output and after each feed). */
  ready?: (stdout: string, stderr: string) => boolean;
  /** For a line that runs until stopped: gives it something to show (e.g. new input for a following tail); called while it is not ready. */
  feed?: () => Promise<void>;
  /** How many feeds before giving up (default 20). */
  maxFeeds?: number;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one README line with bash (pipefail), as a person would paste it. */
export async function runExample(example: Example, command: string, options: RunOptions): Promise<RunResult> {
  const env = { ...process.env, ...options.env };
  if (!example.untilStopped) {
    const result = spawnSync('bash', ['-o', 'pipefail', '-c', command], { cwd: options.cwd, encoding: 'utf8', env, maxBuffer: 1 << 26, timeout: 300_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }
  // Its own process group, so that SIGINT reaches every process of the line, as Ctrl-C does.
  const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd: options.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let wake: () => void = () => {};
  const ready = options.ready ?? ((out: string) => out.includes('\n'));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    wake();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    wake();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  let ended = false;
  void exited.then(() => {
    ended = true;
    wake();
  });
  // Wait for output, feeding the line (one feed at a time) while it has nothing to show; no clock involved.
  let feeding: Promise<void> | null = null;
  let feeds = 0;
  let feedError: unknown;
  while (!ended && !ready(stdout, stderr) && feedError === undefined) {
    if (options.feed && feeding === null && feeds < (options.maxFeeds ?? 20)) {
      feeds += 1;
      feeding = options
        .feed()
        .catch((error: unknown) => {
          feedError = error;
        })
        .finally(() => {
          feeding = null;
          wake();
        });
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
  if (!ended) process.kill(-child.pid!, 'SIGINT');
  const status = await exited;
  await feeding;
  if (feedError !== undefined) throw feedError;
  return { status, stdout, stderr };
}

/** Asserts a line's outcome: its expected exit, and no stack trace or internal error on stderr. */
export function expectOutcome(example: Example, command: string, result: RunResult): void {
  expect(result.status, `README.md:${example.line}: ${command}\n${result.stderr}`).toBe(example.expectedExit);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  if (example.untilStopped) expect(result.stdout.length + result.stderr.length, `README.md:${example.line} showed nothing before it was stopped`).toBeGreaterThan(0);
}
