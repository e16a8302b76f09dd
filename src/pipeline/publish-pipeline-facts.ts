import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { RawStore } from '../stores/raw-store.js';
import { readStoredBursts } from './journey-signals.js';

/**
 * Copies what dashboards need from the raw store into the analytics store (pipeline health:
 * received lines per minute with late and extra copies, rejected by reason, per app version;
 * release bursts; stewardship: corrections). One grouped scan of the whole raw store
 * (docs/decisions/0013), so a run does it once, when its input ends.
 */
export function createPublishPipelineFacts(deps: { raw: RawStore; analytics: AnalyticsStore; lateAfterMs: number }) {
  return async function publishPipelineFacts(): Promise<void> {
    const minutes = await deps.raw.receivedCounts({}, { bucketMs: 60_000, lateAfterMs: deps.lateAfterMs });
    const bursts = await readStoredBursts(deps.raw);
    const corrections = await deps.raw.listCorrections();
    await deps.analytics.publishPipelineFacts({ minutes, bursts, corrections });
  };
}
