import { createHash, randomUUID } from 'node:crypto';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { MetaAndLeases, RawStore } from '../stores/raw-store.js';
import { readStoredBursts } from './journey-signals.js';

/**
 * Raw-store meta: a new value whenever the lines the facts count change (an ingest stored or
 * replaced something). Corrections and bursts are read whole, so only the lines need a marker.
 */
export const FACTS_GENERATION_META = 'pipeline_facts.generation';

/** Notes that the stored lines changed, so the next publish cannot find the dashboards' copy current. */
export async function noteStoredLinesChanged(raw: MetaAndLeases): Promise<void> {
  await raw.writeMeta(FACTS_GENERATION_META, randomUUID());
}

/**
 * Copies what dashboards need from the raw store into the analytics store (pipeline health:
 * received lines per minute with late and extra copies, rejected by reason, per app version;
 * release bursts; stewardship: corrections). One grouped scan of the whole raw store
 * (docs/decisions/0013), so a run does it once, when its input ends, and not at all when the
 * copy was made from what the raw store holds now (a re-ingest that stored nothing,
 * docs/decisions/0026). `force` publishes anyway (repair, which re-creates damaged copies).
 */
export function createPublishPipelineFacts(deps: { raw: RawStore; analytics: AnalyticsStore; lateAfterMs: number }) {
  return async function publishPipelineFacts(options: { force?: boolean } = {}): Promise<'published' | 'current'> {
    const bursts = await readStoredBursts(deps.raw);
    const corrections = await deps.raw.listCorrections();
    let generation = await deps.raw.readMeta(FACTS_GENERATION_META);
    if (generation === null) {
      generation = randomUUID();
      await deps.raw.writeMeta(FACTS_GENERATION_META, generation);
    }
    const token = createHash('sha256')
      .update(JSON.stringify({ generation, lateAfterMs: deps.lateAfterMs, bursts, corrections }))
      .digest('hex');
    if (options.force !== true && deps.analytics.pipelineFactsToken !== undefined && (await deps.analytics.pipelineFactsToken()) === token) return 'current';
    const minutes = await deps.raw.receivedCounts({}, { bucketMs: 60_000, lateAfterMs: deps.lateAfterMs });
    await deps.analytics.publishPipelineFacts({ minutes, bursts, corrections }, token);
    return 'published';
  };
}
