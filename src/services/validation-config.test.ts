import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE, type TrackingPlan } from '../config/config.js';
import { createProcessLine } from '../pipeline/process-line.js';
import { openMemoryRawStore } from '../stores/memory/memory-raw-store.js';
import { accepted } from '../stores/raw-store.conformance.js';
import { noteValidationConfig, storedUnder, VALIDATION_META_KEY, VALIDATION_RULES_VERSION, validationFingerprint } from './validation-config.js';

const plan: TrackingPlan = { allowUnplanned: false, events: { page_viewed: { required: [], properties: {} } } };
const quiet = { command: 'test', waitMs: 0, log: () => {} };

describe('validationFingerprint', () => {
  it('is the same for the same validation config, whatever its key order or the settings validation does not read', () => {
    const a = validationFingerprint({ pipeline: DEFAULT_PIPELINE, trackingPlan: plan });
    const pipeline = { ...DEFAULT_PIPELINE, sessionInactivityMs: 1 };
    const reordered = validationFingerprint({ pipeline, trackingPlan: { events: { page_viewed: { properties: {}, required: [] } }, allowUnplanned: false } });
    expect(reordered).toBe(a);
  });

  it('changes with the tracking plan and with each setting the per-line stages read', () => {
    const base = validationFingerprint({ pipeline: DEFAULT_PIPELINE, trackingPlan: plan });
    const others = [
      validationFingerprint({ pipeline: DEFAULT_PIPELINE, trackingPlan: null }),
      validationFingerprint({ pipeline: DEFAULT_PIPELINE, trackingPlan: { ...plan, allowUnplanned: true } }),
      validationFingerprint({ pipeline: { ...DEFAULT_PIPELINE, maxEventBytes: DEFAULT_PIPELINE.maxEventBytes + 1 }, trackingPlan: plan }),
      validationFingerprint({ pipeline: { ...DEFAULT_PIPELINE, futureToleranceMs: DEFAULT_PIPELINE.futureToleranceMs + 1 }, trackingPlan: plan }),
      validationFingerprint({ pipeline: { ...DEFAULT_PIPELINE, futureEvents: DEFAULT_PIPELINE.futureEvents === 'clamp' ? 'reject' : 'clamp' }, trackingPlan: plan }),
      validationFingerprint({ pipeline: { ...DEFAULT_PIPELINE, minEventTimeMs: 0 }, trackingPlan: plan }),
      validationFingerprint({ pipeline: { ...DEFAULT_PIPELINE, maxNestingDepth: 3 }, trackingPlan: plan }),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });
});

describe('noteValidationConfig', () => {
  it('an empty store takes the first config; the same config again keeps it', async () => {
    const raw = openMemoryRawStore();
    await noteValidationConfig(raw, 'A', quiet);
    await raw.writeBatch([accepted()], []);
    await noteValidationConfig(raw, 'A', quiet);
    expect(await storedUnder(raw, 'A')).toBe(true);
    expect(await storedUnder(raw, 'B')).toBe(false);
  });

  it('another config makes the store mixed for good: no config is trusted afterwards', async () => {
    const raw = openMemoryRawStore();
    await noteValidationConfig(raw, 'A', quiet);
    await raw.writeBatch([accepted()], []);
    await noteValidationConfig(raw, 'B', quiet);
    await noteValidationConfig(raw, 'A', quiet);
    expect(await storedUnder(raw, 'A')).toBe(false);
    expect(await storedUnder(raw, 'B')).toBe(false);
    // The lease taken for the decision is given back.
    expect(await raw.acquireLease(VALIDATION_META_KEY, { pid: 1, hostname: 'other', command: 'x', startedAt: 0 }, 1_000)).toEqual({ acquired: true });
  });

  it('events stored before any config was noted (an older journeyctl) are never trusted', async () => {
    const raw = openMemoryRawStore();
    await raw.writeBatch([accepted()], []);
    await noteValidationConfig(raw, 'A', quiet);
    expect(await storedUnder(raw, 'A')).toBe(false);
  });
});

/**
 * What the per-line stages gave for the committed fixtures (every accept, reason, detail and
 * stored field) at each VALIDATION_RULES_VERSION. Reprocess trusts stored fields only while the
 * version is unchanged, so a change to what they give must bump it: this turns that rule into a check.
 */
const OUTCOMES_AT_VERSION: Record<number, string> = {
  1: '793b9d3213ce7f5f4350b85bc4a61e5618de59b596f4de7d9bcba73439a656c0',
};

describe('VALIDATION_RULES_VERSION', () => {
  it('is bumped whenever the per-line stages accept, reject or store a fixture line differently', () => {
    const processLine = createProcessLine({ pipeline: DEFAULT_PIPELINE, trackingPlan: plan });
    const digest = createHash('sha256');
    const arrivedAt = Date.UTC(2026, 0, 9);
    let lines = 0;
    for (const fixture of ['demo.ndjson', 'generated-small.ndjson']) {
      for (const line of readFileSync(new URL(`../../fixtures/${fixture}`, import.meta.url), 'utf8').split('\n')) {
        if (line === '') continue;
        digest.update(`${canonical(processLine(line, arrivedAt))}\n`);
        lines += 1;
      }
    }
    expect(lines).toBeGreaterThan(7_000);
    expect(
      digest.digest('hex'),
      `the per-line stages now give other outcomes for the fixtures: bump VALIDATION_RULES_VERSION in src/services/validation-config.ts (stores written before are then validated again by reprocess) and record the new digest under it here`,
    ).toBe(OUTCOMES_AT_VERSION[VALIDATION_RULES_VERSION]);
  });
});

/** JSON with sorted keys: a refactor that only reorders an outcome's fields is not a change. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}
