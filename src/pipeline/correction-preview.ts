import { type Correction, type CorrectionChange, effectiveCorrections } from '../domain/correction.js';
import type { Session } from '../domain/session.js';
import { deriveUsers, type DeriveUsersDeps, loadEventsOfUsers } from './derive-users.js';
import { planIdentityChanges } from './stitch-identities.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { RawStore } from '../stores/raw-store.js';
import { compileCorrections } from '../corrections/apply-corrections.js';

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

/** Derives the touched users with the current corrections and with `change` added, writing nothing. */
export async function previewCorrection(deps: StewardDeps, change: CorrectionChange, keys: readonly string[], existing: readonly Correction[]): Promise<CorrectionPreview> {
  const draft: Correction = { id: 'draft', change, actor: '', reason: '', ticket: null, createdAt: 0 };
  const current = compileCorrections(effectiveCorrections(existing), deps.correctionKinds);
  const proposed = compileCorrections(effectiveCorrections([...existing, draft]), deps.correctionKinds);
  const identityBefore = await planIdentityChanges(keys, deps.raw, current);
  const identityAfter = await planIdentityChanges(keys, deps.raw, proposed);
  const users = [...new Set([...identityBefore.affectedUsers, ...identityAfter.affectedUsers])].sort();
  const before = deriveUsers(deps, users, await loadEventsOfUsers(deps.raw, users, identityBefore.canonical, deps.sessionize), current);
  const after = deriveUsers(deps, users, await loadEventsOfUsers(deps.raw, users, identityAfter.canonical, deps.sessionize), proposed);
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
