import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE, type TrackingPlan } from '../config/config.js';
import { openMemoryRawStore } from '../stores/memory/memory-raw-store.js';
import { accepted } from '../stores/raw-store.conformance.js';
import { noteValidationConfig, storedUnder, VALIDATION_META_KEY, validationFingerprint } from './validation-config.js';

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
