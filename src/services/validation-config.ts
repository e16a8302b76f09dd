// Which validation config the raw store's accepted events were stored under (ADR 0023, "Stored
// fields when the validation config is unchanged"). Ingest notes its config before it writes a
// batch; reprocess reads the stored fields instead of validating every stored line again only
// when every event in the store was accepted under the config it would validate with.
import { createHash } from 'node:crypto';
import { DEFAULT_PIPELINE } from '../config/config.js';
import type { ProcessLineDeps } from '../pipeline/process-line.js';
import { acquireLease, currentHolder } from '../stores/lease.js';
import type { MetaAndLeases, StoreStats } from '../stores/raw-store.js';

/**
 * The version of the per-line stages (src/pipeline/process-line.ts and what it calls): bump it
 * whenever a change there can accept, reject or store a line differently, so stores written
 * before are validated again by reprocess.
 */
export const VALIDATION_RULES_VERSION = 1;

/** Meta key: the fingerprint every stored event was accepted under, or MIXED. */
export const VALIDATION_META_KEY = 'validation-config';
const MIXED = 'mixed';

/** What decides whether a line is accepted and the fields it is stored with, as one hash. */
export function validationFingerprint(deps: ProcessLineDeps): string {
  const { pipeline } = deps;
  const inputs = {
    rules: VALIDATION_RULES_VERSION,
    maxEventBytes: pipeline.maxEventBytes,
    maxNestingDepth: pipeline.maxNestingDepth ?? DEFAULT_PIPELINE.maxNestingDepth,
    futureToleranceMs: pipeline.futureToleranceMs,
    futureEvents: pipeline.futureEvents,
    minEventTimeMs: pipeline.minEventTimeMs ?? DEFAULT_PIPELINE.minEventTimeMs,
    trackingPlan: deps.trackingPlan,
  };
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex');
}

/** JSON with object keys sorted, so the same config always hashes the same. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * Records that events are about to be stored under `fingerprint`. Called before the first batch
 * is written: a store that held events under another config (or events from before this was
 * recorded) becomes MIXED for good, and reprocess validates its lines again.
 */
export async function noteValidationConfig(
  raw: MetaAndLeases & Pick<StoreStats, 'counts'>,
  fingerprint: string,
  options: { command: string; waitMs: number; log: (message: string) => void },
): Promise<void> {
  if ((await raw.readMeta(VALIDATION_META_KEY)) === fingerprint) return;
  // Read, decide and write as one step across processes: two ingests under different configs
  // must not each see an empty store and leave only their own fingerprint.
  const lease = await acquireLease(raw, VALIDATION_META_KEY, currentHolder(options.command), options);
  try {
    const noted = await raw.readMeta(VALIDATION_META_KEY);
    if (noted === fingerprint || noted === MIXED) return;
    const empty = noted === null && (await raw.counts()).events === 0;
    await raw.writeMeta(VALIDATION_META_KEY, empty ? fingerprint : MIXED);
  } finally {
    await lease.release();
  }
}

/** True when every event in the store was accepted under `fingerprint` (nothing stored under another, or before it was noted). */
export async function storedUnder(raw: Pick<MetaAndLeases, 'readMeta'>, fingerprint: string): Promise<boolean> {
  return (await raw.readMeta(VALIDATION_META_KEY)) === fingerprint;
}
