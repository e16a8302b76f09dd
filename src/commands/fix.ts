import { userInfo } from 'node:os';
import { affectedIdentityKeys, checkRevert, describePreview, previewCorrection, type StewardDeps } from '../corrections/steward.js';
import { compileCorrections } from '../corrections/apply-corrections.js';
import { type Correction, type CorrectionChange, describeChange, effectiveCorrections, type EventFilter, type SessionRef } from '../domain/correction.js';
import { ActionFailedError, InfrastructureError, UsageError } from '../errors.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { fromArray, writeRecords } from '../render/output.js';
import { correctionDetailRecord, snakeCaseRecord } from '../render/records.js';
import { terminalWidth } from '../render/terminal.js';
import { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { createDeriveDirtyUsers, type DeriveSummary } from '../pipeline/derive-dirty-users.js';
import { createSignalsRefresher } from '../pipeline/journey-signals.js';
import { createSessionize } from '../pipeline/sessionize.js';
import { identityChain } from '../pipeline/stitch-identities.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { RawStore } from '../stores/raw-store.js';
import { openRawStore, openStores, serialiseDerivation, type Stores } from '../stores/open-stores.js';
import { confirm, type CommandContext, parseDurationFlag, parseTimeFlag } from './context.js';

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
export async function recordCorrection(context: CommandContext, command: string, options: StewardOptions, build: BuildChange): Promise<Correction | null> {
  const reason = options.reason?.trim();
  if (!reason) throw new UsageError('--reason is required: the audit log says why every change was made');
  const asJson = resolveOutput(options.output, OUTPUTS.change, context.interactive) !== 'text';
  const storeOptions = { command, waitMs: parseDurationFlag('wait', options.wait), log: context.log };
  const stores = await openStores(context.config, storeOptions);
  try {
    // The stored bursts and copy counts the automatic flags read: without them a re-derived user would lose release_burst/duplicate_storm.
    const signals = createSignalsRefresher(stores.raw, context.config.journeys.flags);
    await signals.refresh({ persist: false, force: true });
    const deps: StewardDeps = {
      raw: stores.raw,
      analytics: stores.analytics,
      sessionize: createSessionize(context.config.pipeline),
      deriveJourneys: createDeriveJourneys(context.config.journeys, signals.current),
    };
    const existing = await stores.raw.listCorrections();
    const change = await build(stores, existing);
    const keys = await affectedIdentityKeys(deps, change, existing);
    if (keys.length === 0) throw new UsageError(`${describeChange(change)}: matches no stored event, so it would change nothing`);
    const preview = await previewCorrection(deps, change, keys, existing);
    const changes = describePreview(preview);
    if (options.dryRun) {
      write(context, asJson, { dry_run: true, change: describeChange(change), users: preview.users, changes }, [`Would ${describeChange(change)}:`, ...changes, 'Dry run: nothing was recorded.']);
      return null;
    }
    if (!options.yes) {
      if (!(context.io.stdin.isTTY && context.io.stdout.isTTY)) throw new UsageError('this changes stored journeys; pass --yes to apply it non-interactively', { hint: 'see what it would change first with --dry-run' });
      context.io.stderr.write(`${describeChange(change)}:\n${changes.join('\n')}\n`);
      if (!(await confirm(context, 'Apply this correction?'))) throw new ActionFailedError('not confirmed; nothing was recorded');
    }
    const correction = await recordWithDirtyMarks(stores.raw, { change, actor: options.actor?.trim() || userInfo().username, reason, ticket: options.ticket ?? null, createdAt: Date.now() }, keys);
    // Recorded is done: the correction is the source of truth and its users are marked dirty, so
    // any later derive (the next run, fix or reprocess) applies it. A derive that fails now (a full
    // disk, an outage) is reported, not turned into a failure of what was recorded (docs/decisions).
    let derived: DeriveSummary | null = null;
    let deriveError: string | null = null;
    try {
      derived = await serialiseDerivation(context.config, stores.raw, storeOptions, createDeriveDirtyUsers(deps))();
    } catch (error) {
      if (!(error instanceof InfrastructureError)) throw error;
      deriveError = error.message;
      context.log(`recorded ${correction.id}; analytics will catch up on the next run (\`journeyctl run\`, or the next \`fix\`): deriving now failed: ${error.message}`);
    }
    const outcome = derived ? `re-derived ${derived.users} user(s)` : `recorded ${correction.id}; analytics will catch up on the next run`;
    write(context, asJson, { correction: correctionDetailRecord(correction, null), users: preview.users, changes, derived: snakeCaseRecord(derived), catching_up: derived === null, derive_error: deriveError }, [`${correction.id}: ${describeChange(change)}`, ...changes, outcome]);
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

/** `--user` names a person as `inspect` does: an id merged or stitched into another user resolves to that user. */
async function personFilter(raw: RawStore, filter: EventFilter): Promise<EventFilter> {
  if (filter.userId === undefined) return filter;
  const person = (await raw.canonicalOf([filter.userId])).get(filter.userId) ?? filter.userId;
  return { ...filter, userId: person };
}

type SessionLookup = SessionRef & { startedAt: number; messageIds: string[]; flags: string[] };

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

const plain = (ref: SessionRef): SessionRef => ({ sessionId: ref.sessionId, userId: ref.userId, firstMessageId: ref.firstMessageId });

export function eventFilter(options: FilterOptions, { required }: { required: boolean }): EventFilter {
  const filter: EventFilter = {};
  if (options.event) filter.event = options.event;
  if (options.appVersion) filter.appVersion = options.appVersion;
  if (options.user) filter.userId = options.user;
  const since = parseTimeFlag('since', options.since, options.tz);
  const until = parseTimeFlag('until', options.until, options.tz);
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until;
  if (since !== undefined && until !== undefined && since >= until) throw new UsageError('--since must be before --until');
  if (required && Object.keys(filter).length === 0) throw new UsageError('give at least one filter (--event, --app-version, --user, --since, --until)', { hint: 'a correction for every event is almost certainly a mistake' });
  return filter;
}

/** The links of an identity chain up to (and into) `id`. */
function linksUpTo(chain: readonly string[], id: string): Array<[string, string]> {
  const links: Array<[string, string]> = [];
  for (let i = 0; chain[i] !== id; i += 1) links.push([chain[i]!, chain[i + 1]!]);
  return links;
}

export const changeBuilders = {
  mergeUsers: (from: string, into: string): BuildChange => async (stores, existing) => {
    if (from === into) throw new UsageError(`cannot merge user ${from} with itself`);
    const recorded = effectiveCorrections(existing).find((c) => c.change.kind === 'merge_users' && c.change.from === from && c.change.into === into);
    if (recorded) throw new UsageError(`${from} is already merged into ${into} by ${recorded.id}`, { hint: `the next derive (\`journeyctl run\`) applies it if analytics do not show it yet; see \`journeyctl fix show ${recorded.id}\`` });
    const owners = await stores.raw.canonicalOf([from, into]);
    if ((owners.get(from) ?? from) === (owners.get(into) ?? into)) throw new UsageError(`${from} and ${into} are already the same person (${owners.get(into) ?? into})`);
    return { kind: 'merge_users', from, into };
  },
  unmergeUsers: (a: string, b: string): BuildChange => async (stores, existing) => {
    if (a === b) throw new UsageError(`cannot unmerge user ${a} from itself`);
    // The correction refuses the link between a and b. Joined through other ids, they would stay
    // one person, and which of those links is wrong is the steward's call: name them instead.
    const corrections = compileCorrections(effectiveCorrections(existing));
    const fromA = await identityChain(a, stores.raw, corrections);
    const fromB = await identityChain(b, stores.raw, corrections);
    const directlyLinked = fromA[1] === b || fromB[1] === a;
    const meeting = fromA.find((id) => fromB.includes(id));
    if (!directlyLinked && meeting !== undefined) {
      const links = [...linksUpTo(fromA, meeting), ...linksUpTo(fromB, meeting)];
      throw new UsageError(`${a} and ${b} are not linked to each other but are one person through ${links.map(([from, to]) => `${from} → ${to}`).join(', ')}`, {
        hint: `unmerge the wrong link instead, e.g. \`journeyctl fix unmerge-users ${links[0]![0]} ${links[0]![1]}\``,
      });
    }
    return { kind: 'unmerge_users', a, b };
  },
  splitSession: (sessionId: string, at: string): BuildChange => async (stores) => {
    const session = await sessionRef(stores.analytics, sessionId);
    if (!session.messageIds.includes(at)) throw new UsageError(`event ${at} is not in session ${sessionId}`, { hint: `split at one of its events (journeyctl explain ${sessionId})` });
    if (session.firstMessageId === at) throw new UsageError(`${at} is the first event of session ${sessionId}; splitting there changes nothing`);
    return { kind: 'split_session', session: plain(session), atMessageId: at };
  },
  mergeSessions: (firstId: string, secondId: string): BuildChange => async (stores) => {
    if (firstId === secondId) throw new UsageError('cannot merge a session with itself');
    const [earlier, later] = [await sessionRef(stores.analytics, firstId), await sessionRef(stores.analytics, secondId)].sort((x, y) => x.startedAt - y.startedAt) as [SessionLookup, SessionLookup];
    if (earlier.userId !== later.userId) throw new UsageError(`sessions belong to different users (${earlier.userId}, ${later.userId}); merge the users first`);
    for await (const between of stores.analytics.streamSessions({ from: earlier.startedAt + 1, to: later.startedAt })) {
      if (between.userId === earlier.userId) throw new UsageError(`sessions ${firstId} and ${secondId} are not adjacent: ${between.sessionId} lies between them`);
    }
    return { kind: 'merge_sessions', first: plain(earlier), second: plain(later) };
  },
  moveEvent: (messageId: string, toSessionId: string): BuildChange => async (stores) => {
    const target = await sessionRef(stores.analytics, toSessionId);
    if (target.messageIds.includes(messageId)) throw new UsageError(`event ${messageId} is already in session ${toSessionId}`);
    const key = (await stores.raw.identityKeysOfMessages([messageId])).get(messageId);
    if (key === undefined) throw new UsageError(`no stored event ${messageId}`);
    const owner = (await stores.raw.canonicalOf([key])).get(key) ?? key;
    if (owner !== target.userId) throw new UsageError(`event ${messageId} belongs to user ${owner}, session ${toSessionId} to ${target.userId}; merge the users first`);
    return { kind: 'move_event', messageId, userId: owner, to: plain(target) };
  },
  dropEvents: (filter: EventFilter): BuildChange => async (stores) => ({ kind: 'drop_events', filter: await personFilter(stores.raw, filter) }),
  renameEvent: (from: string, to: string, appVersion?: string): BuildChange => async () => {
    if (from === to) throw new UsageError('the new name is the same as the old one');
    return { kind: 'rename_event', from, to, ...(appVersion ? { appVersion } : {}) };
  },
  setProperty: (property: string, value: string, filter: EventFilter): BuildChange => async (stores) => {
    let parsed: unknown = value;
    try {
      parsed = JSON.parse(value);
    } catch {
      // not JSON: the value is the string itself
    }
    return { kind: 'set_property', filter: await personFilter(stores.raw, filter), property, value: parsed };
  },
  flagSession: (sessionId: string, code: string): BuildChange => async (stores) => ({ kind: 'flag_session', session: plain(await sessionRef(stores.analytics, sessionId)), code: checkCode(code) }),
  flagSessions: (filter: EventFilter, code: string): BuildChange => async (stores) => ({ kind: 'flag_sessions', filter: await personFilter(stores.raw, filter), code: checkCode(code) }),
  unflagSession: (sessionId: string, code: string | undefined): BuildChange => async (stores) => {
    const session = await sessionRef(stores.analytics, sessionId);
    const chosen = code ?? (session.flags.length === 1 ? session.flags[0] : undefined);
    if (chosen === undefined) throw new UsageError(session.flags.length === 0 ? `session ${sessionId} has no flag` : `session ${sessionId} has flags ${session.flags.join(', ')}; say which with --code`);
    if (!session.flags.includes(chosen)) throw new UsageError(`session ${sessionId} has no flag ${chosen} (it has: ${session.flags.join(', ') || 'none'})`);
    return { kind: 'unflag_session', session: plain(session), code: chosen };
  },
  revert: (target: string): BuildChange => async (_stores, existing) => {
    checkRevert(target, existing);
    return { kind: 'revert', target };
  },
};

function checkCode(code: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(code)) throw new UsageError(`--code "${code}" must be snake_case (e.g. release_burst, confirmed_bot)`);
  return code;
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
  const raw = await openRawStore(context.config);
  try {
    const all = await raw.listCorrections();
    const correction = all.find((c) => c.id === id);
    if (!correction) throw new UsageError(`no correction ${id}`, { hint: 'list them with `journeyctl fix list`' });
    const revertedBy = all.find((c) => c.change.kind === 'revert' && c.change.target === id)?.id ?? null;
    const record = correctionDetailRecord(correction, revertedBy);
    if (resolveOutput(options.output, OUTPUTS.prose, context.interactive) === 'json') context.io.stdout.write(`${JSON.stringify(record)}\n`);
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
