import { parseDurationMs } from '../../domain/time.js';
import { integerAtLeastOne, parseWithin, positiveNumber, readSection, share } from '../parse-helpers.js';
import { DEFAULT_RELEASE_BURST_SETTINGS, describeWindow, type ReleaseBurstSettings } from '../release-bursts.js';
import { defineFlag } from './kind.js';
import { percent } from './percent.js';

/** Within this long of a session's activity, a user's rejected burst line counts as part of it (the usual inactivity timeout). */
const BURST_HIT_MARGIN_MS = 30 * 60_000;

/**
 * release_burst: the session carries a bursting app version inside the burst's window — it has
 * accepted events of that version there, or the user's lines of that version received around
 * the session were rejected (so the session is missing events and its journey cannot be trusted).
 * The bursts themselves are store-wide signals (src/journeys/release-bursts.ts).
 */
export const releaseBurst = defineFlag<ReleaseBurstSettings>({
  name: 'release_burst',
  version: 1,
  description: 'carries an app version whose lines were rejected in a burst around the session',
  settingsKey: 'releaseBurst',
  defaults: DEFAULT_RELEASE_BURST_SETTINGS,
  configKeys: null,
  parseSettings(flags, bursts, errors) {
    const burst = readSection(flags, 'release_burst', ['bucket', 'min_rejected', 'min_share', 'baseline_multiple', 'min_baseline_lines', 'max_gap'], errors);
    if (burst.bucket !== undefined) {
      bursts.bucketMs = parseWithin(burst.bucket, 'flags.release_burst.bucket', errors);
      if (bursts.bucketMs > 0 && bursts.bucketMs < 60_000) errors.push('flags.release_burst.bucket must be at least 1m');
    }
    if (burst.min_rejected !== undefined) bursts.minRejected = integerAtLeastOne(burst.min_rejected, 'flags.release_burst.min_rejected', errors);
    if (burst.min_share !== undefined) bursts.minShare = share(burst.min_share, 'flags.release_burst.min_share', errors);
    if (burst.baseline_multiple !== undefined) bursts.baselineMultiple = positiveNumber(burst.baseline_multiple, 'flags.release_burst.baseline_multiple', errors);
    if (burst.min_baseline_lines !== undefined) bursts.minBaselineLines = integerAtLeastOne(burst.min_baseline_lines, 'flags.release_burst.min_baseline_lines', errors);
    if (burst.max_gap !== undefined) {
      const gap = typeof burst.max_gap === 'string' ? parseDurationMs(burst.max_gap) : null;
      if (gap === null) errors.push(`flags.release_burst.max_gap: "${String(burst.max_gap)}" is not a duration (e.g. 0m, 30m)`);
      else bursts.maxGapMs = gap;
    }
    return bursts;
  },
  detect(session, events, _settings, signals) {
    if (signals.bursts.length === 0) return null;
    const details: string[] = [];
    const evidence: string[] = [];
    const ids = [session.userId, ...session.anonymousIds];
    signals.bursts.forEach((burst, index) => {
      if (session.startedAt - BURST_HIT_MARGIN_MS >= burst.windowEnd || session.endedAt + BURST_HIT_MARGIN_MS < burst.windowStart) return;
      const carried = events.filter((e) => e.appVersion === burst.appVersion && e.eventTime >= burst.windowStart && e.eventTime < burst.windowEnd);
      const seen = new Set<string>();
      const hits = ids
        .flatMap((id) => signals.burstHits.get(id) ?? [])
        .filter((hit) => hit.burst === index && hit.receivedAt >= session.startedAt - BURST_HIT_MARGIN_MS && hit.receivedAt <= session.endedAt + BURST_HIT_MARGIN_MS)
        .filter((hit) => {
          const key = `${hit.receivedAt}\u0000${hit.messageId}\u0000${hit.reason}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        })
        .sort((a, b) => a.receivedAt - b.receivedAt || String(a.messageId).localeCompare(String(b.messageId)));
      if (carried.length === 0 && hits.length === 0) return;
      const reasons = new Map<string, number>();
      for (const hit of hits) reasons.set(hit.reason, (reasons.get(hit.reason) ?? 0) + 1);
      const parts = [
        hits.length
          ? `${hits.length} of this user's lines rejected (${[...reasons]
              .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
              .map(([r, n]) => `${r} ${n}`)
              .join(', ')})`
          : null,
        carried.length ? `${carried.length} events of that version in the window` : null,
      ].filter(Boolean);
      details.push(
        `app ${burst.appVersion} burst ${describeWindow(burst)} (${burst.rejected} of ${burst.accepted + burst.rejected} lines rejected, ${percent(burst.share)}; normal ${percent(burst.baseline)}): ${parts.join('; ')}`,
      );
      for (const e of carried) evidence.push(e.messageId);
      for (const hit of hits) if (hit.messageId !== null) evidence.push(hit.messageId);
    });
    if (details.length === 0) return null;
    return { name: 'release_burst', detail: details.join(' | '), evidence: [...new Set(evidence)].slice(0, 50) };
  },
});
