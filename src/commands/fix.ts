import { userInfo } from 'node:os';
import { describePreview, previewCorrection, type StewardDeps } from '../pipeline/correction-preview.js';
import type { CorrectionKind, CorrectionPorts, CorrectionRegistry, SessionLookup } from '../corrections/kinds/kind.js';
import { affectedIdentityKeys, CORRECTION_KINDS, describeChange } from '../corrections/kinds/registry.js';
import { buildFlagSession } from '../corrections/kinds/flag-session.js';
import { buildFlagSessions } from '../corrections/kinds/flag-sessions.js';
import { buildUnflagSession } from '../corrections/kinds/unflag-session.js';
import { compileCorrections } from '../corrections/apply-corrections.js';
import { type Correction, type CorrectionChange, effectiveCorrections, type EventFilter } from '../domain/correction.js';
import { ActionFailedError, InfrastructureError, UsageError } from '../errors.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { fromArray, writeRecords } from '../render/output.js';
import { correctionDetailRecord, snakeCaseRecord } from '../render/records.js';
import { terminalWidth } from '../render/terminal.js';
import type { DeriveSummary } from '../pipeline/derive-dirty-users.js';
import { identityChain } from '../pipeline/stitch-identities.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { RawStore } from '../stores/raw-store.js';
import { createDerivation } from '../services/derivation.js';
import { openRawStore, openStores, type Stores } from '../stores/open-stores.js';
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

/** Builds the change once the stores are open (ids are resolved and checked against them). */
type BuildChange = (stores: Stores, existing: readonly Correction[]) => Promise<CorrectionChange>;

/**
 * Records a correction and applies it at once: refuse what is unknown or contradictory, show
 * what would change (`--dry-run` stops there), ask or require --yes, append the record, and
 * re-derive exactly the users it touches. The correction is data: every reprocess reproduces
 * it, and `fix revert` removes it.
 */
export async function recordCorrection(context: CommandContext, command: string, options: StewardOptions, build: BuildChange, kinds: CorrectionRegistry = CORRECTION_KINDS): Promise<Correction | null> {
  const asJson = resolveOutput(options.output, OUTPUTS.change, context.interactive) !== 'text';
  const reason = options.reason?.trim();
  if (!reason) throw new UsageError('--reason is required: the audit log says why every change was made');
  const storeOptions = { command, waitMs: parseDurationFlag('wait', options.wait), log: context.log };
  const stores = await openStores(context.config, storeOptions);
  try {
    const derivation = createDerivation(context.config, stores, { correctionKinds: kinds, lease: storeOptions });
    // The stored bursts and copy counts the automatic flags read: without them a re-derived user would lose release_burst/duplicate_storm.
    await derivation.signals.refresh({ persist: false, force: true });
    const deps: StewardDeps = derivation.stages;
    const existing = await stores.raw.listCorrections();
    const change = await build(stores, existing);
    const keys = await affectedIdentityKeys(stores.raw, change, existing, kinds);
    if (keys.length === 0) throw new UsageError(`${describeChange(change, kinds)}: matches no stored event, so it would change nothing`);
    const preview = await previewCorrection(deps, change, keys, existing);
    const changes = describePreview(preview);
    if (options.dryRun) {
      write(context, asJson, { dry_run: true, change: describeChange(change, kinds), users: preview.users, changes }, [`Would ${describeChange(change, kinds)}:`, ...changes, 'Dry run: nothing was recorded.']);
      return null;
    }
    if (!options.yes) {
      if (!(context.io.stdin.isTTY && context.io.stdout.isTTY)) throw new UsageError('this changes stored journeys; pass --yes to apply it non-interactively', { hint: 'see what it would change first with --dry-run' });
      context.io.stderr.write(`${describeChange(change, kinds)}:\n${changes.join('\n')}\n`);
      if (!(await confirm(context, 'Apply this correction?'))) throw new ActionFailedError('not confirmed; nothing was recorded');
    }
    const correction = await recordWithDirtyMarks(stores.raw, { change, actor: options.actor?.trim() || userInfo().username, reason, ticket: options.ticket ?? null, createdAt: Date.now() }, keys);
    // Recorded is done: the correction is the source of truth and its users are marked dirty, so
    // any later derive (the next run, fix or reprocess) applies it. A derive that fails now (a full
    // disk, an outage) is reported, not turned into a failure of what was recorded (docs/decisions).
    let derived: DeriveSummary | null = null;
    let deriveError: string | null = null;
    try {
      derived = await derivation.serialised(derivation.deriveDirtyUsers)();
    } catch (error) {
      if (!(error instanceof InfrastructureError)) throw error;
      deriveError = error.message;
      context.log(`recorded ${correction.id}; analytics will catch up on the next run (\`journeyctl run\`, or the next \`fix\`): deriving now failed: ${error.message}`);
    }
    const outcome = derived ? `re-derived ${derived.users} user(s)` : `recorded ${correction.id}; analytics will catch up on the next run`;
    write(context, asJson, { correction: correctionDetailRecord(correction, null), users: preview.users, changes, derived: snakeCaseRecord(derived), catching_up: derived === null, derive_error: deriveError }, [`${correction.id}: ${describeChange(change, kinds)}`, ...changes, outcome]);
    return correction;
  } finally {
    await stores.close();
  }
}

/**
 * Appends the correction and marks its users dirty as one unit, so a correction is never
 * recorded without the marks that make the next derive apply it. In a write group where the
 * engine has them (one SQLite transaction: on a full disk neither lands); otherwise marks first
 * (if the append then fails, an extra re-derive changes nothing) and again after the append, in
 * case a derive in another process cleared the first ones before the correction was visible.
 */
async function recordWithDirtyMarks(raw: RawStore, record: Omit<Correction, 'id'>, keys: readonly string[]): Promise<Correction> {
  if (raw.beginWriteGroup && raw.commitWriteGroup && raw.abandonWriteGroup) {
    await raw.beginWriteGroup();
    try {
      const correction = await raw.appendCorrection(record);
      await raw.markDirty(keys);
      await raw.commitWriteGroup();
      return correction;
    } catch (error) {
      await raw.abandonWriteGroup().catch(() => {});
      throw error;
    }
  }
  await raw.markDirty(keys);
  const correction = await raw.appendCorrection(record);
  await raw.markDirty(keys).catch(() => {}); // the first marks stand unless a concurrent derive took them
  return correction;
}

/** What a correction kind's validation reads, from the open stores (src/corrections/kinds/kind.ts). */
export function correctionPorts(stores: Stores, existing: readonly Correction[]): CorrectionPorts {
  const plan = compileCorrections(effectiveCorrections(existing));
  return {
    existing,
    canonicalOf: (ids) => stores.raw.canonicalOf(ids),
    identityKeysForEvents: (filter) => stores.raw.identityKeysForEvents(filter),
    identityKeysOfMessages: (ids) => stores.raw.identityKeysOfMessages(ids),
    session: (sessionId) => sessionRef(stores.analytics, sessionId),
    sessionsBetween: (range) => stores.analytics.streamSessions(range),
    identityChain: (id) => identityChain(id, stores.raw, plan),
  };
}

export async function sessionRef(analytics: AnalyticsStore, sessionId: string): Promise<SessionLookup> {
  const detail = await analytics.sessionDetail(sessionId);
  if (!detail) throw new UsageError(`no session ${JSON.stringify(sessionId)}`, { hint: 'find session ids with `journeyctl export sessions` or `journeyctl inspect user <id>`' });
  return {
    sessionId,
    userId: detail.session.userId,
    firstMessageId: detail.session.firstMessageId,
    startedAt: detail.session.startedAt,
    messageIds: detail.events.map((e) => e.messageId),
    flags: detail.session.flags,
  };
}

export function eventFilter(options: FilterOptions, { required }: { required: boolean }): EventFilter {
  const filter: EventFilter = {};
  if (options.event) filter.event = options.event;
  if (options.appVersion) filter.appVersion = options.appVersion;
  if (options.user) filter.userId = options.user;
  const { from: since, to: until } = parseTimeBounds({ flag: 'since', value: options.since }, { flag: 'until', value: options.until }, options.tz);
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until;
  if (required && Object.keys(filter).length === 0) throw new UsageError('give at least one filter (--event, --app-version, --user, --since, --until)', { hint: 'a correction for every event is almost certainly a mistake' });
  return filter;
}

/** A kind's validation as a BuildChange: the kind checks its change against the stores (a registered kind's change is stored as it is). */
const fromPorts =
  (build: (ports: CorrectionPorts) => Promise<{ kind: string }>): BuildChange =>
  async (stores, existing) =>
    (await build(correctionPorts(stores, existing))) as CorrectionChange;

/** The change of a kind's `fix` subcommand from its arguments and options (src/commands/steward-cli.ts generates the subcommands). */
export function fixChange(kind: CorrectionKind, args: string[], options: Record<string, unknown> & FilterOptions): BuildChange {
  const cli = kind.cli!;
  return fromPorts(cli.build(args, cli.filters ? { ...options, filter: eventFilter(options, { required: true }) } : options));
}

/** Changes recorded by commands other than `fix` (flag, unflag). */
export const changeBuilders = {
  flagSession: (sessionId: string, code: string): BuildChange => fromPorts(buildFlagSession(sessionId, code)),
  flagSessions: (filter: EventFilter, code: string): BuildChange => fromPorts(buildFlagSessions(filter, code)),
  unflagSession: (sessionId: string, code: string | undefined): BuildChange => fromPorts(buildUnflagSession(sessionId, code)),
};

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
