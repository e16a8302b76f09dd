// The correction service: preview, record and re-derive one steward correction (fix, flag,
// unflag) against open stores. Validation stays with each kind (src/corrections/kinds/); the
// commands parse flags, confirm and render (src/commands/fix.ts).
import type { JourneyConfig } from '../config/config.js';
import type { CorrectionPorts, CorrectionRegistry, SessionLookup } from '../corrections/kinds/kind.js';
import { affectedIdentityKeys, CORRECTION_KINDS, describeChange } from '../corrections/kinds/registry.js';
import { buildFlagSession } from '../corrections/kinds/flag-session.js';
import { buildFlagSessions } from '../corrections/kinds/flag-sessions.js';
import { buildUnflagSession } from '../corrections/kinds/unflag-session.js';
import { compileCorrections } from '../corrections/apply-corrections.js';
import { type Correction, type CorrectionChange, effectiveCorrections, type EventFilter } from '../domain/correction.js';
import { InfrastructureError, UsageError } from '../errors.js';
import { describePreview, previewCorrection } from '../pipeline/correction-preview.js';
import type { DeriveSummary } from '../pipeline/derive-dirty-users.js';
import { identityChain } from '../pipeline/stitch-identities.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { OpenStoresOptions } from '../stores/open-stores.js';
import type { RawStore } from '../stores/raw-store.js';
import { createDerivation, type DerivationStores } from './derivation.js';

/** Builds the change once the stores are open (ids are resolved and checked against them). */
export type BuildChange = (stores: DerivationStores, existing: readonly Correction[]) => Promise<CorrectionChange>;

export interface RecordCorrectionOptions {
  /** Why (required by the audit log), who, and an optional ticket. */
  reason: string;
  actor: string;
  ticket: string | null;
  /** Preview only: record nothing. */
  dryRun?: boolean;
  /** Asked with the change and its preview lines before anything is recorded; throws to refuse. */
  confirm?: (description: string, changes: string[]) => Promise<void>;
  /** Who derives and how long to wait for another writer, and where messages go. */
  lease: OpenStoresOptions;
  kinds?: CorrectionRegistry;
}

interface Previewed {
  /** The change in words (describeChange). */
  description: string;
  users: string[];
  /** Preview lines: sessions that go, sessions that come, label and flag changes. */
  changes: string[];
}

export type CorrectionOutcome =
  | (Previewed & { dryRun: true })
  | (Previewed & {
      dryRun: false;
      correction: Correction;
      /** What the re-derive did, or null when it failed and the next derive catches up. */
      derived: DeriveSummary | null;
      deriveError: string | null;
    });

/**
 * Records a correction and applies it at once: refuse what is unknown or contradictory, preview
 * what would change (a dry run stops there), confirm, append the record, and re-derive exactly
 * the users it touches. The correction is data: every reprocess reproduces it, and `fix revert`
 * removes it.
 */
export async function recordCorrection(config: JourneyConfig, stores: DerivationStores, build: BuildChange, options: RecordCorrectionOptions): Promise<CorrectionOutcome> {
  const kinds = options.kinds ?? CORRECTION_KINDS;
  const derivation = createDerivation(config, stores, { correctionKinds: kinds, lease: options.lease });
  // The stored bursts and copy counts the automatic flags read: without them a re-derived user would lose release_burst/duplicate_storm.
  await derivation.signals.refresh({ persist: false, force: true });
  const existing = await stores.raw.listCorrections();
  const change = await build(stores, existing);
  const description = describeChange(change, kinds);
  const keys = await affectedIdentityKeys(stores.raw, change, existing, kinds);
  if (keys.length === 0) throw new UsageError(`${description}: matches no stored event, so it would change nothing`);
  const preview = await previewCorrection(derivation.stages, change, keys, existing);
  const previewed: Previewed = { description, users: preview.users, changes: describePreview(preview) };
  if (options.dryRun) return { ...previewed, dryRun: true };
  await options.confirm?.(description, previewed.changes);
  const correction = await recordWithDirtyMarks(stores.raw, { change, actor: options.actor, reason: options.reason, ticket: options.ticket, createdAt: Date.now() }, keys);
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
    options.lease.log(`recorded ${correction.id}; analytics will catch up on the next run (\`journeyctl run\`, or the next \`fix\`): deriving now failed: ${error.message}`);
  }
  return { ...previewed, dryRun: false, correction, derived, deriveError };
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
export function correctionPorts(stores: DerivationStores, existing: readonly Correction[]): CorrectionPorts {
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

async function sessionRef(analytics: AnalyticsStore, sessionId: string): Promise<SessionLookup> {
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

/** A kind's validation as a BuildChange: the kind checks its change against the stores (a registered kind's change is stored as it is). */
export const fromPorts =
  (build: (ports: CorrectionPorts) => Promise<{ kind: string }>): BuildChange =>
  async (stores, existing) =>
    (await build(correctionPorts(stores, existing))) as CorrectionChange;

/** Changes recorded by commands other than `fix` (flag, unflag). */
export const changeBuilders = {
  flagSession: (sessionId: string, code: string): BuildChange => fromPorts(buildFlagSession(sessionId, code)),
  flagSessions: (filter: EventFilter, code: string): BuildChange => fromPorts(buildFlagSessions(filter, code)),
  unflagSession: (sessionId: string, code: string | undefined): BuildChange => fromPorts(buildUnflagSession(sessionId, code)),
};
