import { describe, expect, it } from 'vitest';
import type { Session } from '../domain/session.js';
import { DEFAULT_FLAG_SETTINGS, sessionFlags } from './flags.js';
import { parseJourneyConfig } from './parse-journey-config.js';
import { type BucketCounts, DEFAULT_RELEASE_BURST_SETTINGS, detectReleaseBursts, type ReleaseBurst } from './release-bursts.js';
import type { RuleEvent } from './rules.js';
import { type JourneySignals, NO_SIGNALS } from './signals.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 6, 12);

const session = (overrides: Partial<Session> = {}): Session => ({
  sessionId: 's',
  userId: 'u1',
  anonymousIds: ['a1'],
  startedAt: T0,
  endedAt: T0 + 20 * MIN,
  eventCount: 20,
  firstEvent: 'page_viewed',
  lastEvent: 'page_viewed',
  firstMessageId: 'm0',
  appVersions: ['2.3.0'],
  flags: [],
  labels: [],
  ...overrides,
});
const events = (count: number, appVersion = '2.3.0'): RuleEvent[] =>
  Array.from({ length: count }, (_, i) => ({ messageId: `m${i}`, event: 'page_viewed', eventTime: T0 + i * MIN, properties: {}, appVersion }));
const names = (flags: ReturnType<typeof sessionFlags>) => flags.map((f) => f.name);
/** Events m0..m(count-1), each with the distinct copies given for its message id (1 otherwise). */
const withCopies = (count: number, copies: Array<[string, number]>): RuleEvent[] => {
  const byId = new Map(copies);
  return events(count).map((e) => ({ ...e, copies: byId.get(e.messageId) ?? 1 }));
};

describe('duplicate_storm', () => {
  it('flags a session whose events came again and again (extra copies far above the normal retry rate)', () => {
    const flags = sessionFlags(
      session(),
      withCopies(20, [
        ['m0', 4],
        ['m1', 3],
        ['m2', 2],
        ['x', 9],
      ]),
      DEFAULT_FLAG_SETTINGS,
    );
    expect(flags).toEqual([{ name: 'duplicate_storm', detail: '6 extra copies of 3 of 20 events (30% per event; normal is 2.0%)', evidence: ['m0', 'm1', 'm2'] }]);
  });

  it('near misses: a normal retry rate, a high rate with too few copies, nothing stored twice', () => {
    // 5 extra copies over 30 events is 17%, under 10 × 2%.
    expect(names(sessionFlags(session(), withCopies(30, [['m0', 6]]), DEFAULT_FLAG_SETTINGS))).toEqual([]);
    // 4 extra copies on 4 events is 100%, but fewer than 5 copies is not a storm.
    expect(names(sessionFlags(session(), withCopies(4, [['m0', 5]]), DEFAULT_FLAG_SETTINGS))).toEqual([]);
    expect(names(sessionFlags(session(), events(4), DEFAULT_FLAG_SETTINGS, NO_SIGNALS))).toEqual([]);
    // Exactly at the threshold it flags: 5 extra of 25 events = 20%.
    expect(names(sessionFlags(session(), withCopies(25, [['m0', 6]]), DEFAULT_FLAG_SETTINGS))).toEqual(['duplicate_storm']);
  });

  it('takes its thresholds from flags.duplicate_storm and refuses bad values', () => {
    const { config, errors } = parseJourneyConfig({ flags: { duplicate_storm: { baseline: 0.01, multiple: 5, min_extra_copies: 2 } } });
    expect(errors).toEqual([]);
    expect(config.flags.duplicateStorm).toEqual({ baseline: 0.01, multiple: 5, minExtraCopies: 2 });
    expect(names(sessionFlags(session(), withCopies(30, [['m0', 2]]), config.flags))).toEqual([]);
    expect(
      names(
        sessionFlags(
          session(),
          withCopies(30, [
            ['m0', 2],
            ['m1', 2],
          ]),
          config.flags,
        ),
      ),
    ).toEqual(['duplicate_storm']);
    expect(parseJourneyConfig({ flags: { duplicate_storm: { baseline: 2, min_extra: 1 } } }).errors).toEqual([
      'flags.duplicate_storm: unknown setting "min_extra" (known: baseline, multiple, min_extra_copies)',
      'flags.duplicate_storm.baseline must be a share between 0 and 1 (got 2)',
    ]);
  });
});

/** Normal traffic: 2.3.0 with ~1% rejected in every bucket of two days. */
function normalTraffic(): BucketCounts[] {
  const rows: BucketCounts[] = [];
  for (let b = 0; b < 288; b += 1) rows.push({ bucketStart: T0 - 24 * 60 * MIN + b * 10 * MIN, appVersion: '2.3.0', accepted: 99, rejected: { invalid_json: b % 2 } });
  return rows;
}
const buggy = (start: number, buckets: number, rejectedPerBucket: number, accepted = 0): BucketCounts[] =>
  Array.from({ length: buckets }, (_, i) => ({ bucketStart: start + i * 10 * MIN, appVersion: '2.4.0-buggy', accepted, rejected: { unplanned_event: rejectedPerBucket - 1, required_missing: 1 } }));

describe('release_burst detection', () => {
  it('finds one burst for a new version whose lines are rejected for an hour, merging its buckets', () => {
    const bursts = detectReleaseBursts([...normalTraffic(), ...buggy(T0, 6, 10)], DEFAULT_RELEASE_BURST_SETTINGS);
    expect(bursts).toHaveLength(1);
    expect(bursts[0]).toMatchObject({ appVersion: '2.4.0-buggy', windowStart: T0, windowEnd: T0 + 60 * MIN, accepted: 0, rejected: 60, share: 1 });
    expect(bursts[0]!.baseline).toBeCloseTo(144 / 28_656, 6);
    expect(bursts[0]!.reasons).toEqual([
      { reason: 'unplanned_event', lines: 54 },
      { reason: 'required_missing', lines: 6 },
    ]);
  });

  it('merges across a quiet bucket of the version but not across a normal one or a long gap', () => {
    const gap = [...buggy(T0, 2, 10), ...buggy(T0 + 30 * MIN, 2, 10)];
    expect(detectReleaseBursts([...normalTraffic(), ...gap], DEFAULT_RELEASE_BURST_SETTINGS).map((b) => [b.windowStart, b.windowEnd])).toEqual([[T0, T0 + 50 * MIN]]);
    const interrupted = [...gap, { bucketStart: T0 + 20 * MIN, appVersion: '2.4.0-buggy', accepted: 100, rejected: { unplanned_event: 1 } }];
    expect(detectReleaseBursts([...normalTraffic(), ...interrupted], DEFAULT_RELEASE_BURST_SETTINGS).map((b) => [b.windowStart, b.windowEnd])).toEqual([
      [T0, T0 + 20 * MIN],
      [T0 + 30 * MIN, T0 + 50 * MIN],
    ]);
    const far = [...buggy(T0, 2, 10), ...buggy(T0 + 120 * MIN, 2, 10)];
    expect(detectReleaseBursts([...normalTraffic(), ...far], DEFAULT_RELEASE_BURST_SETTINGS)).toHaveLength(2);
  });

  it('near misses: too few rejected lines, a low share, a version that always rejects this much', () => {
    expect(detectReleaseBursts([...normalTraffic(), ...buggy(T0, 6, 3)], DEFAULT_RELEASE_BURST_SETTINGS)).toEqual([]); // 18 < 20
    expect(detectReleaseBursts([...normalTraffic(), ...buggy(T0, 6, 10, 60)], DEFAULT_RELEASE_BURST_SETTINGS)).toEqual([]); // 14% < 20%
    // An old version that always rejects ~15% is measured against its own baseline: a 35% hour is
    // not five times that; the same hour from a version without that history is a burst.
    const steady: BucketCounts[] = Array.from({ length: 100 }, (_, i) => ({ bucketStart: T0 - 2_000 * MIN + i * 10 * MIN, appVersion: '1.9.0', accepted: 17, rejected: { datatype_mismatch: 3 } }));
    const spike = (appVersion: string) => Array.from({ length: 6 }, (_, i) => ({ bucketStart: T0 + i * 10 * MIN, appVersion, accepted: 13, rejected: { datatype_mismatch: 7 } }));
    expect(detectReleaseBursts([...normalTraffic(), ...steady, ...spike('1.9.0')], DEFAULT_RELEASE_BURST_SETTINGS)).toEqual([]);
    expect(detectReleaseBursts([...normalTraffic(), ...steady, ...spike('2.0.0')], DEFAULT_RELEASE_BURST_SETTINGS)).toMatchObject([{ appVersion: '2.0.0', rejected: 42 }]);
    expect(detectReleaseBursts([...normalTraffic(), ...steady, ...spike('1.9.0')], { ...DEFAULT_RELEASE_BURST_SETTINGS, baselineMultiple: 2 })).toMatchObject([{ appVersion: '1.9.0', rejected: 42 }]);
  });

  it('does not depend on the order of its input', () => {
    const rows = [...normalTraffic(), ...buggy(T0, 6, 10)];
    expect(detectReleaseBursts([...rows].reverse(), DEFAULT_RELEASE_BURST_SETTINGS)).toEqual(detectReleaseBursts(rows, DEFAULT_RELEASE_BURST_SETTINGS));
  });
});

describe('release_burst flag on sessions', () => {
  const burst: ReleaseBurst = {
    appVersion: '2.4.0-buggy',
    windowStart: T0,
    windowEnd: T0 + 60 * MIN,
    accepted: 0,
    rejected: 60,
    share: 1,
    baseline: 0.005,
    reasons: [{ reason: 'unplanned_event', lines: 60 }],
  };
  const signals = (hits: Array<[string, number, string]>): JourneySignals => ({
    bursts: [burst],
    burstHits: new Map(hits.map(([id, at, messageId]) => [id, [{ burst: 0, receivedAt: at, messageId, reason: 'unplanned_event' as const }]])),
  });

  it('flags a session whose user sent rejected lines of the bursting version during it, with them as evidence', () => {
    const flags = sessionFlags(session(), events(20), DEFAULT_FLAG_SETTINGS, signals([['a1', T0 + 5 * MIN, 'bad-1']]));
    expect(flags).toEqual([
      {
        name: 'release_burst',
        detail: "app 2.4.0-buggy burst 2026-01-06 12:00–13:00 UTC (60 of 60 lines rejected, 100%; normal 0.5%): 1 of this user's lines rejected (unplanned_event 1)",
        evidence: ['bad-1'],
      },
    ]);
  });

  it('flags a session with accepted events of the version in the window, evidence those events', () => {
    const flags = sessionFlags(session({ appVersions: ['2.4.0-buggy'] }), events(3, '2.4.0-buggy'), DEFAULT_FLAG_SETTINGS, signals([]));
    expect(flags).toMatchObject([{ name: 'release_burst', evidence: ['m0', 'm1', 'm2'] }]);
  });

  it('near misses: another user, another version, long before the window', () => {
    expect(names(sessionFlags(session(), events(20), DEFAULT_FLAG_SETTINGS, signals([['someone-else', T0 + 5 * MIN, 'bad-1']])))).toEqual([]);
    expect(names(sessionFlags(session(), events(20), DEFAULT_FLAG_SETTINGS, signals([])))).toEqual([]);
    const early = session({ startedAt: T0 - 5 * 60 * MIN, endedAt: T0 - 4 * 60 * MIN });
    expect(
      names(
        sessionFlags(
          early,
          events(3, '2.4.0-buggy').map((e) => ({ ...e, eventTime: e.eventTime - 5 * 60 * MIN })),
          DEFAULT_FLAG_SETTINGS,
          signals([['a1', T0 + 5 * MIN, 'bad-1']]),
        ),
      ),
    ).toEqual([]);
  });

  it('takes its thresholds from flags.release_burst', () => {
    const { config, errors } = parseJourneyConfig({ flags: { release_burst: { bucket: '5m', min_rejected: 5, min_share: 0.5, baseline_multiple: 3, min_baseline_lines: 100, max_gap: '0m' } } });
    expect(errors).toEqual([]);
    expect(config.flags.releaseBurst).toEqual({ bucketMs: 5 * MIN, minRejected: 5, minShare: 0.5, baselineMultiple: 3, minBaselineLines: 100, maxGapMs: 0 });
    expect(parseJourneyConfig({ flags: { release_burst: { bucket: '10s', min_share: 0 } } }).errors).toEqual([
      'flags.release_burst.bucket must be at least 1m',
      'flags.release_burst.min_share must be a share between 0 and 1 (got 0)',
    ]);
  });
});
