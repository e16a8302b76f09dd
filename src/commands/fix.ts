import { userInfo } from 'node:os';
import type { CorrectionKind, CorrectionRegistry } from '../corrections/kinds/kind.js';
import { CORRECTION_KINDS } from '../corrections/kinds/registry.js';
import type { Correction, EventFilter } from '../domain/correction.js';
import { ActionFailedError, UsageError } from '../errors.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { fromArray, writeRecords } from '../render/output.js';
import { correctionDetailRecord, snakeCaseRecord } from '../render/records.js';
import { terminalWidth } from '../render/terminal.js';
import { type BuildChange, type CorrectionOutcome, fromPorts, recordCorrection as recordCorrectionWith } from '../services/corrections.js';
import { openRawStore, openStores } from '../stores/open-stores.js';
import { confirm, type CommandContext, parseDurationFlag, parseTimeBounds, parseTimeFlag } from './context.js';

export interface StewardOptions {
  reason?: string;
  ticket?: string;
  actor?: string;
  dryRun?: boolean;
  yes?: boolean;
  wait: string;
  output?: string;
}

export interface FilterOptions {
  event?: string;
  appVersion?: string;
  user?: string;
  since?: string;
  until?: string;
  tz: string;
}

/**
 * `fix <kind>`, `flag`, `unflag`: flags → options → the correction service → render. Refuses a
 * correction without a reason, asks on a terminal (or requires --yes), and shows what changed.
 */
export async function recordCorrection(
  context: CommandContext,
  command: string,
  options: StewardOptions,
  build: BuildChange,
  kinds: CorrectionRegistry = CORRECTION_KINDS,
): Promise<Correction | null> {
  const asJson = resolveOutput(options.output, OUTPUTS.change, context.interactive) !== 'text';
  const reason = options.reason?.trim();
  if (!reason) throw new UsageError('--reason is required: the audit log says why every change was made');
  const lease = { command, waitMs: parseDurationFlag('wait', options.wait), log: context.log };
  const stores = await openStores(context.config, lease);
  let outcome: CorrectionOutcome;
  try {
    outcome = await recordCorrectionWith(context.config, stores, build, {
      reason,
      actor: options.actor?.trim() || userInfo().username,
      ticket: options.ticket ?? null,
      dryRun: options.dryRun,
      confirm: options.yes ? undefined : (description, changes) => confirmCorrection(context, description, changes),
      lease,
      kinds,
    });
  } finally {
    await stores.close();
  }
  const { description, users, changes } = outcome;
  if (outcome.dryRun) {
    write(context, asJson, { dry_run: true, change: description, users, changes }, [`Would ${description}:`, ...changes, 'Dry run: nothing was recorded.']);
    return null;
  }
  const { correction, derived, deriveError } = outcome;
  const summary = derived ? `re-derived ${derived.users} user(s)` : `recorded ${correction.id}; analytics will catch up on the next run`;
  write(context, asJson, { correction: correctionDetailRecord(correction, null), users, changes, derived: snakeCaseRecord(derived), catching_up: derived === null, derive_error: deriveError }, [
    `${correction.id}: ${description}`,
    ...changes,
    summary,
  ]);
  return correction;
}

/** Without --yes: ask on a terminal, refuse otherwise. */
async function confirmCorrection(context: CommandContext, description: string, changes: string[]): Promise<void> {
  if (!(context.io.stdin.isTTY && context.io.stdout.isTTY))
    throw new UsageError('this changes stored journeys; pass --yes to apply it non-interactively', { hint: 'see what it would change first with --dry-run' });
  context.io.stderr.write(`${description}:\n${changes.join('\n')}\n`);
  if (!(await confirm(context, 'Apply this correction?'))) throw new ActionFailedError('not confirmed; nothing was recorded');
}

export function eventFilter(options: FilterOptions, { required }: { required: boolean }): EventFilter {
  const filter: EventFilter = {};
  if (options.event) filter.event = options.event;
  if (options.appVersion) filter.appVersion = options.appVersion;
  if (options.user) filter.userId = options.user;
  const { from: since, to: until } = parseTimeBounds({ flag: 'since', value: options.since }, { flag: 'until', value: options.until }, options.tz);
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until;
  if (required && Object.keys(filter).length === 0)
    throw new UsageError('give at least one filter (--event, --app-version, --user, --since, --until)', { hint: 'a correction for every event is almost certainly a mistake' });
  return filter;
}

/** The change of a kind's `fix` subcommand from its arguments and options (src/commands/steward-cli.ts generates the subcommands). */
export function fixChange(kind: CorrectionKind, args: string[], options: Record<string, unknown> & FilterOptions): BuildChange {
  const cli = kind.cli!;
  return fromPorts(cli.build(args, cli.filters ? { ...options, filter: eventFilter(options, { required: true }) } : options));
}

/** `fix list` and `audit`: corrections from the raw store alone (no analytics lock needed). */
export async function listCorrections(context: CommandContext, options: { since?: string; actor?: string; tz: string; output?: string; kind?: 'audit' | 'list' }): Promise<Correction[]> {
  const raw = await openRawStore(context.config);
  let all: Correction[];
  try {
    all = await raw.listCorrections();
  } finally {
    await raw.close();
  }
  const since = parseTimeFlag('since', options.since, options.tz);
  const reverted = new Map(all.flatMap((c) => (c.change.kind === 'revert' ? [[c.change.target, c.id] as const] : [])));
  const shown = all.filter((c) => (since === undefined || c.createdAt >= since) && (options.actor === undefined || c.actor === options.actor));
  const records = shown.map((c) => correctionDetailRecord(c, reverted.get(c.id) ?? null));
  const format = resolveOutput(options.output, OUTPUTS.corrections, context.interactive);
  if (format === 'table' && records.length === 0) context.io.stdout.write('No steward actions recorded.\n');
  else {
    // The table shows what people scan for; the full change is in every other format and in `fix show`.
    const rows = format === 'table' ? records.map(({ action: _action, change: _change, ...row }) => row) : records;
    const look = { color: context.color, width: terminalWidth(context.io.stdout), zone: options.tz };
    await writeRecords(fromArray(rows), format, context.io.stdout, context.log, look);
  }
  return shown;
}

/** `fix show <id>`: one correction in full, as text for people or one JSON object (snake_case, ISO times). */
export async function showCorrection(context: CommandContext, id: string, options: { output?: string } = {}): Promise<void> {
  const output = resolveOutput(options.output, OUTPUTS.prose, context.interactive);
  const raw = await openRawStore(context.config);
  try {
    const all = await raw.listCorrections();
    const correction = all.find((c) => c.id === id);
    if (!correction) throw new UsageError(`no correction ${id}`, { hint: 'list them with `journeyctl fix list`' });
    const revertedBy = all.find((c) => c.change.kind === 'revert' && c.change.target === id)?.id ?? null;
    const record = correctionDetailRecord(correction, revertedBy);
    if (output === 'json') context.io.stdout.write(`${JSON.stringify(record)}\n`);
    else context.io.stdout.write(renderFields(record));
  } finally {
    await raw.close();
  }
}

/** A record as `key: value` lines; nested objects indent one level, lists join with commas. */
function renderFields(record: Record<string, unknown>, indent = ''): string {
  return Object.entries(record)
    .map(([key, value]) =>
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? `${indent}${key}:\n${renderFields(value as Record<string, unknown>, `${indent}  `)}`
        : `${indent}${key}: ${value === null ? '-' : Array.isArray(value) ? value.join(', ') : String(value)}\n`,
    )
    .join('');
}

function write(context: CommandContext, asJson: boolean, record: Record<string, unknown>, lines: string[]): void {
  context.io.stdout.write(asJson ? `${JSON.stringify(record)}\n` : `${lines.join('\n')}\n`);
}
