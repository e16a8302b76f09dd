import { compileCorrections, type CorrectionPlan } from '../corrections/apply-corrections.js';
import { effectiveCorrections } from '../domain/correction.js';
import type { createDeriveJourneys } from '../journeys/derive-journeys.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { RawStore } from '../stores/raw-store.js';
import { deriveUsers, loadEventsOfUsers } from './derive-users.js';
import type { createSessionize } from './sessionize.js';
import { planIdentityChanges } from './stitch-identities.js';

export interface DeriveDeps {
  raw: RawStore;
  analytics: AnalyticsStore;
  sessionize: ReturnType<typeof createSessionize>;
  deriveJourneys: ReturnType<typeof createDeriveJourneys>;
  /** Dirty ids taken per round. */
  idsPerRound?: number;
  /** Users derived and written per analytics write. */
  usersPerWrite?: number;
  onProgress?: (summary: DeriveSummary) => void;
}

export interface DeriveSummary {
  users: number;
  sessionsWritten: number;
  sessionsDeleted: number;
  eventsWritten: number;
  eventsDeleted: number;
}

/**
 * Re-derives every user touched since the last derive, from the raw store: identity first,
 * then each affected user's whole activity is sessionized again and the analytics rows made
 * equal to the result. Because it always starts from the stored set of events, the outcome
 * does not depend on arrival order or on how input was split into batches and runs.
 *
 * Crash safety: dirty ids are cleared only after the analytics rows and the identity map are
 * written, so an interrupted derive is simply done again.
 */
export function createDeriveDirtyUsers(deps: DeriveDeps) {
  const idsPerRound = deps.idsPerRound ?? 20_000;
  const usersPerWrite = deps.usersPerWrite ?? 250;

  return async function deriveDirtyUsers(): Promise<DeriveSummary> {
    const summary: DeriveSummary = { users: 0, sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 };
    for (;;) {
      const dirty = await deps.raw.listDirtyIds(idsPerRound);
      if (dirty.length === 0) return summary;
      // Corrections are read per round: a steward's fix applies to the next derive, in any process.
      const corrections = compileCorrections(effectiveCorrections(await deps.raw.listCorrections()));
      const plan = await planIdentityChanges(
        dirty.map((entry) => entry.id),
        deps.raw,
        corrections,
      );
      const users = [...plan.affectedUsers].sort();
      for (let start = 0; start < users.length; start += usersPerWrite) {
        await deriveAndWrite(users.slice(start, start + usersPerWrite), plan.canonical, corrections, summary);
        deps.onProgress?.(summary);
      }
      await deps.raw.saveCanonical([...plan.canonical].map(([id, canonicalId]) => ({ id, canonicalId })));
      await deps.raw.clearDirtyIds(dirty);
    }
  };

  async function deriveAndWrite(users: string[], canonical: Map<string, string>, corrections: CorrectionPlan, summary: DeriveSummary): Promise<void> {
    const eventsByUser = await loadEventsOfUsers(deps.raw, users, canonical);
    const { derivation, profiles, removed } = deriveUsers(deps, users, eventsByUser, corrections);
    const version = await deps.raw.nextVersion();
    const written = await deps.analytics.replaceUsers(users, derivation, version);
    await deps.raw.saveProfiles(profiles, removed);
    summary.users += users.length;
    summary.sessionsWritten += written.sessions.written;
    summary.sessionsDeleted += written.sessions.deleted;
    summary.eventsWritten += written.events.written;
    summary.eventsDeleted += written.events.deleted;
  }
}
