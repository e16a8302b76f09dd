/**
 * release_burst detection: rejected (or tracking-plan-violating) lines concentrated in one app
 * version within a short time window, far above that version's normal share — the buggy
 * release. A pure function of per-bucket counts, so the bursts are a function of the stored
 * lines and the settings, whatever order they arrived in.
 *
 * Per bucket of received time (`bucket`, 10 minutes by default) and app version:
 *   share = rejected / (accepted + rejected)
 *   candidate: at least one rejected line and share ≥ min_share
 *   baseline: the version's share over its non-candidate buckets when it has at least
 *             min_baseline_lines there; otherwise the share of every version's non-candidate
 *             buckets (a brand-new release has no history of its own)
 *   hot: candidate and share ≥ baseline_multiple × baseline
 * Hot buckets of one version merge into one burst when no bucket of that version between them
 * is normal and the gap is at most max_gap; a run is a burst when it holds at least
 * min_rejected rejected lines. Lines without an app version cannot be attributed and are left out.
 */
import type { RejectReason } from '../domain/event.js';

export interface ReleaseBurstSettings {
  bucketMs: number;
  minRejected: number;
  minShare: number;
  baselineMultiple: number;
  minBaselineLines: number;
  maxGapMs: number;
}

export const DEFAULT_RELEASE_BURST_SETTINGS: ReleaseBurstSettings = {
  bucketMs: 10 * 60_000,
  minRejected: 20,
  minShare: 0.2,
  baselineMultiple: 5,
  minBaselineLines: 500,
  maxGapMs: 30 * 60_000,
};

/** Per-bucket counts as the raw store aggregates them (RawStore.receivedLineCounts). */
export interface BucketCounts {
  bucketStart: number;
  appVersion: string | null;
  accepted: number;
  rejected: Partial<Record<RejectReason, number>>;
}

export interface ReleaseBurst {
  appVersion: string;
  /** Received-time window [start, end). */
  windowStart: number;
  windowEnd: number;
  accepted: number;
  rejected: number;
  /** rejected / (accepted + rejected) in the window. */
  share: number;
  /** The share the burst was compared with. */
  baseline: number;
  /** Rejected lines by reason, most frequent first. */
  reasons: Array<{ reason: RejectReason; lines: number }>;
}

interface Bucket {
  start: number;
  accepted: number;
  rejected: number;
  reasons: Partial<Record<RejectReason, number>>;
}

export function detectReleaseBursts(rows: readonly BucketCounts[], settings: ReleaseBurstSettings): ReleaseBurst[] {
  const byVersion = new Map<string, Bucket[]>();
  for (const row of rows) {
    if (row.appVersion === null) continue;
    const rejected = sum(row.rejected);
    if (row.accepted + rejected === 0) continue;
    const list = byVersion.get(row.appVersion) ?? [];
    list.push({ start: row.bucketStart, accepted: row.accepted, rejected, reasons: row.rejected });
    byVersion.set(row.appVersion, list);
  }
  const isCandidate = (b: Bucket) => b.rejected > 0 && b.rejected / (b.accepted + b.rejected) >= settings.minShare;
  const normal = { lines: 0, rejected: 0 };
  const versionNormal = new Map<string, { lines: number; rejected: number }>();
  for (const [version, buckets] of byVersion) {
    const own = { lines: 0, rejected: 0 };
    for (const b of buckets) {
      if (isCandidate(b)) continue;
      own.lines += b.accepted + b.rejected;
      own.rejected += b.rejected;
    }
    versionNormal.set(version, own);
    normal.lines += own.lines;
    normal.rejected += own.rejected;
  }
  const overall = normal.lines === 0 ? 0 : normal.rejected / normal.lines;

  const bursts: ReleaseBurst[] = [];
  for (const version of [...byVersion.keys()].sort()) {
    const buckets = byVersion.get(version)!.sort((a, b) => a.start - b.start);
    const own = versionNormal.get(version)!;
    const baseline = own.lines >= settings.minBaselineLines ? own.rejected / own.lines : overall;
    const isHot = (b: Bucket) => isCandidate(b) && b.rejected / (b.accepted + b.rejected) >= settings.baselineMultiple * baseline;
    let run: Bucket[] = [];
    const close = () => {
      if (run.length > 0) {
        const burst = toBurst(version, run, baseline, settings.bucketMs);
        if (burst.rejected >= settings.minRejected) bursts.push(burst);
      }
      run = [];
    };
    for (const bucket of buckets) {
      if (!isHot(bucket)) {
        close();
        continue;
      }
      const last = run[run.length - 1];
      if (last && bucket.start - (last.start + settings.bucketMs) > settings.maxGapMs) close();
      run.push(bucket);
    }
    close();
  }
  return bursts.sort((a, b) => a.windowStart - b.windowStart || (a.appVersion < b.appVersion ? -1 : a.appVersion > b.appVersion ? 1 : 0));
}

function toBurst(appVersion: string, run: readonly Bucket[], baseline: number, bucketMs: number): ReleaseBurst {
  let accepted = 0;
  let rejected = 0;
  const reasons: Partial<Record<RejectReason, number>> = {};
  for (const b of run) {
    accepted += b.accepted;
    rejected += b.rejected;
    for (const [reason, n] of Object.entries(b.reasons) as Array<[RejectReason, number]>) reasons[reason] = (reasons[reason] ?? 0) + n;
  }
  return {
    appVersion,
    windowStart: run[0]!.start,
    windowEnd: run[run.length - 1]!.start + bucketMs,
    accepted,
    rejected,
    share: rejected / (accepted + rejected),
    baseline,
    reasons: (Object.entries(reasons) as Array<[RejectReason, number]>).sort(([ra, a], [rb, b]) => b - a || (ra < rb ? -1 : 1)).map(([reason, lines]) => ({ reason, lines })),
  };
}

function sum(counts: Partial<Record<string, number>>): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n ?? 0;
  return total;
}

/** "2026-01-06 13:10–14:20 UTC" */
export function describeWindow(burst: Pick<ReleaseBurst, 'windowStart' | 'windowEnd'>): string {
  const start = new Date(burst.windowStart).toISOString();
  const end = new Date(burst.windowEnd).toISOString();
  return `${start.slice(0, 10)} ${start.slice(11, 16)}–${start.slice(0, 10) === end.slice(0, 10) ? '' : `${end.slice(0, 10)} `}${end.slice(11, 16)} UTC`;
}
