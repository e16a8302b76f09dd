import { type Correction, type CorrectionChange, effectiveCorrections } from '../domain/correction.js';
import type { Session } from '../domain/session.js';
import { UsageError } from '../errors.js';
import { deriveUsers, type DeriveUsersDeps, loadEventsOfUsers } from '../pipeline/derive-users.js';
import { planIdentityChanges } from '../pipeline/stitch-identities.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { RawStore } from '../stores/raw-store.js';
import { compileCorrections } from './apply-corrections.js';

export interface StewardDeps extends DeriveUsersDeps {
  raw: RawStore;
  analytics: AnalyticsStore;
}

/** What a correction would change for the users it touches: sessions before and after. */
export interface CorrectionPreview {
  users: string[];
  before: Session[];
  after: Session[];
}

/**
 * The identity keys whose users a change touches: re-deriving them (and only them) applies it.
 * Unknown ids and contradictions are refused here, before anything is written.
 */
export async function affectedIdentityKeys(deps: StewardDeps, change: CorrectionChange, existing: readonly Correction[]): Promise<string[]> {
  switch (change.kind) {
    case 'merge_users':
      return [change.from, change.into];
    case 'unmerge_users':
      return [change.a, change.b];
    case 'split_session':
    case 'flag_session':
    case 'unflag_session':
      return [change.session.userId];
    case 'merge_sessions':
      return [change.first.userId, change.second.userId];
    case 'move_event':
      return [change.userId, change.to.userId];
    case 'drop_events':
    case 'set_property':
    case 'flag_sessions':
      return deps.raw.identityKeysForEvents(change.filter);
    case 'rename_event':
      return deps.raw.identityKeysForEvents({ event: change.from, ...(change.appVersion === undefined ? {} : { appVersion: change.appVersion }) });
    case 'revert': {
      const target = existing.find((c) => c.id === change.target);
      if (!target) throw new UsageError(`no correction ${change.target}`, { hint: 'list them with `journeyctl fix list`' });
      return affectedIdentityKeys(deps, target.change, existing);
    }
  }
}

/** Checks a revert target: it exists, is not itself a revert, and is not reverted yet. */
export function checkRevert(targetId: string, existing: readonly Correction[]): Correction {
  const target = existing.find((c) => c.id === targetId);
  if (!target) throw new UsageError(`no correction ${targetId}`, { hint: 'list them with `journeyctl fix list`' });
  if (target.change.kind === 'revert') throw new UsageError(`${targetId} is itself a revert; make the original correction again instead`);
  if (existing.some((c) => c.change.kind === 'revert' && c.change.target === targetId)) throw new UsageError(`${targetId} is already reverted`);
  return target;
}

/** Derives the touched users with the current corrections and with `change` added, writing nothing. */
export async function previewCorrection(deps: StewardDeps, change: CorrectionChange, keys: readonly string[], existing: readonly Correction[]): Promise<CorrectionPreview> {
  const draft: Correction = { id: 'draft', change, actor: '', reason: '', ticket: null, createdAt: 0 };
  const current = compileCorrections(effectiveCorrections(existing));
  const proposed = compileCorrections(effectiveCorrections([...existing, draft]));
  const identityBefore = await planIdentityChanges(keys, deps.raw, current);
  const identityAfter = await planIdentityChanges(keys, deps.raw, proposed);
  const users = [...new Set([...identityBefore.affectedUsers, ...identityAfter.affectedUsers])].sort();
  const before = deriveUsers(deps, users, await loadEventsOfUsers(deps.raw, users, identityBefore.canonical), current);
  const after = deriveUsers(deps, users, await loadEventsOfUsers(deps.raw, users, identityAfter.canonical), proposed);
  return { users, before: before.derivation.sessions as Session[], after: after.derivation.sessions as Session[] };
}

/** Lines a person reads before saying yes: sessions that go, sessions that come, label and flag changes. */
export function describePreview(preview: CorrectionPreview): string[] {
  const key = (s: Session) => `${s.sessionId}`;
  const describe = (s: Session) =>
    `${s.sessionId} user ${s.userId} ${new Date(s.startedAt).toISOString()} ${s.eventCount} events${s.labels.length ? ` labels [${s.labels.join(', ')}]` : ''}${s.flags.length ? ` flags [${s.flags.join(', ')}]` : ''}`;
  const before = new Map(preview.before.map((s) => [key(s), s]));
  const after = new Map(preview.after.map((s) => [key(s), s]));
  const lines: string[] = [];
  for (const [id, session] of before) {
    const next = after.get(id);
    if (!next) lines.push(`- ${describe(session)}`);
    else if (JSON.stringify(next) !== JSON.stringify(session)) lines.push(`~ ${describe(session)}\n  → ${describe(next)}`);
  }
  for (const [id, session] of after) if (!before.has(id)) lines.push(`+ ${describe(session)}`);
  return lines.length ? lines : ['(no stored session would change)'];
}
