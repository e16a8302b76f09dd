import { describe, expect, it } from 'vitest';
import type { Session } from '../domain/session.js';
import { DEFAULT_FUNNELS } from './defaults.js';
import { busiestMinute, DEFAULT_FLAG_SETTINGS, sessionFlags } from './flags.js';
import { funnelProgress } from './funnels.js';
import type { RuleEvent } from './rules.js';

const purchase = DEFAULT_FUNNELS.find((f) => f.name === 'purchase')!;
function events(spec: Array<[string, number]>): RuleEvent[] {
  return spec.map(([event, at], index) => ({ messageId: `m${index}`, event, eventTime: at, properties: {} }));
}

describe('funnels', () => {
  it('converts when every step happens in order within the window', () => {
    const progress = funnelProgress(
      purchase,
      events([
        ['product_viewed', 0],
        ['page_viewed', 5],
        ['product_added', 10],
        ['checkout_started', 20],
        ['order_completed', 30],
      ]),
    );
    expect(progress).toEqual({ startedAt: 0, stepsReached: 4, evidence: ['m0', 'm2', 'm3', 'm4'] });
  });

  it('reports the step where the best attempt dropped', () => {
    expect(
      funnelProgress(
        purchase,
        events([
          ['product_viewed', 0],
          ['product_added', 10],
          ['page_viewed', 20],
        ]),
      ).stepsReached,
    ).toBe(2);
    expect(
      funnelProgress(
        purchase,
        events([
          ['product_added', 0],
          ['checkout_started', 10],
        ]),
      ).stepsReached,
    ).toBe(0);
  });

  it('does not count steps out of order or outside the window', () => {
    expect(
      funnelProgress(
        purchase,
        events([
          ['product_added', 0],
          ['product_viewed', 1],
        ]),
      ).stepsReached,
    ).toBe(1);
    const slow = funnelProgress(
      { ...purchase, windowMs: 100 },
      events([
        ['product_viewed', 0],
        ['product_added', 50],
        ['checkout_started', 150],
      ]),
    );
    expect(slow.stepsReached).toBe(2);
    // A later attempt that gets further wins.
    const retried = funnelProgress(
      { ...purchase, windowMs: 100 },
      events([
        ['product_viewed', 0],
        ['product_viewed', 1000],
        ['product_added', 1010],
        ['checkout_started', 1020],
        ['order_completed', 1030],
      ]),
    );
    expect(retried).toMatchObject({ startedAt: 1000, stepsReached: 4 });
  });

  it('agrees with a step-by-step scan of every attempt on random sequences', () => {
    // The definition, written the slow way: each step-1 event starts an attempt that takes the next match of each step.
    const reference = (funnel: typeof purchase, list: RuleEvent[]) => {
      let best = { startedAt: null as number | null, stepsReached: 0, evidence: [] as string[] };
      list.forEach((first, start) => {
        if (funnelProgress({ ...funnel, steps: [funnel.steps[0]!] }, [first]).stepsReached !== 1) return;
        const evidence = [first.messageId];
        let position = start + 1;
        for (let step = 1; step < funnel.steps.length; step += 1) {
          while (position < list.length && funnelProgress({ ...funnel, steps: [funnel.steps[step]!] }, [list[position]!]).stepsReached !== 1) position += 1;
          if (position >= list.length || list[position]!.eventTime - first.eventTime > funnel.windowMs) break;
          evidence.push(list[position]!.messageId);
          position += 1;
        }
        if (evidence.length > best.stepsReached && best.stepsReached < funnel.steps.length) best = { startedAt: first.eventTime, stepsReached: evidence.length, evidence };
      });
      return best;
    };
    const names = ['product_viewed', 'product_added', 'checkout_started', 'order_completed', 'page_viewed'];
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 300; trial += 1) {
      let time = 0;
      const list = events(Array.from({ length: Math.floor(random() * 40) }, () => [names[Math.floor(random() * names.length)]!, (time += Math.floor(random() * 60))]));
      const funnel = { ...purchase, windowMs: 50 + Math.floor(random() * 400) };
      expect(funnelProgress(funnel, list)).toEqual(reference(funnel, list));
    }
  });
});

const session = (flags: string[] = []): Session => ({
  sessionId: 's',
  userId: 'u',
  anonymousIds: [],
  startedAt: 0,
  endedAt: 0,
  eventCount: 0,
  firstEvent: 'page_viewed',
  lastEvent: 'page_viewed',
  firstMessageId: 'm0',
  appVersions: [],
  flags,
  labels: [],
});
const evenly = (count: number, gapMs: number) => Array.from({ length: count }, (_, i) => ({ messageId: `m${i}`, event: 'page_viewed', eventTime: i * gapMs, properties: {} }));
const names = (flags: ReturnType<typeof sessionFlags>) => flags.map((f) => f.name);

describe('bot_like', () => {
  it('flags hundreds of events at sub-second spacing', () => {
    const flags = sessionFlags(session(), evenly(300, 150), DEFAULT_FLAG_SETTINGS);
    expect(flags).toEqual([{ name: 'bot_like', detail: '300 events, median gap 150 ms, peak 300 events/min from 1970-01-01T00:00:00.000Z', evidence: ['m0', 'm299'] }]);
  });

  it('flags a 2-minute burst inside a long session by its busiest minute, not the session average', () => {
    // An hour at one event every 6 s (median gap 6 s, 15 events/min on average), with 300 events at
    // 400 ms spacing from minute 30: the session average stays far below 120/min, its busiest minute does not.
    const slow = evenly(600, 6_000);
    const burst = Array.from({ length: 300 }, (_, i) => ({ messageId: `b${i}`, event: 'page_viewed', eventTime: 1_800_003 + i * 400, properties: {} }));
    const events = [...slow, ...burst].sort((a, b) => a.eventTime - b.eventTime);
    expect(sessionFlags(session(), events, DEFAULT_FLAG_SETTINGS)).toEqual([{ name: 'bot_like', detail: '900 events, peak 160 events/min from 1970-01-01T00:30:00.000Z', evidence: ['m300', 'b149'] }]);
  });

  it('measures the busiest minute as a sliding window over event times', () => {
    const at = (...times: number[]) => times.map((eventTime) => ({ eventTime }));
    expect(busiestMinute(at())).toEqual({ count: 0, first: 0, last: 0 });
    expect(busiestMinute(at(0, 59_999, 60_000, 60_001, 119_000))).toEqual({ count: 4, first: 1, last: 4 });
    expect(busiestMinute(at(0, 60_000, 120_000))).toEqual({ count: 1, first: 0, last: 0 });
  });

  it('does not flag a fast human (1–3 s between events, under 30 events)', () => {
    expect(names(sessionFlags(session(), evenly(29, 1_000), DEFAULT_FLAG_SETTINGS))).toEqual([]);
    expect(names(sessionFlags(session(), evenly(60, 2_000), DEFAULT_FLAG_SETTINGS))).toEqual([]);
  });

  it('does not flag a human whose rage-click burst is a few events among slower ones', () => {
    const slow = evenly(30, 20_000);
    const burst = [0, 1, 2, 3, 4].map((i) => ({ messageId: `r${i}`, event: 'button_clicked', eventTime: 600_000 + i * 300, properties: {} }));
    expect(
      names(
        sessionFlags(
          session(),
          [...slow, ...burst].sort((a, b) => a.eventTime - b.eventTime),
          DEFAULT_FLAG_SETTINGS,
        ),
      ),
    ).toEqual([]);
  });

  it('passes the sessionizer’s overlong cut through as a flag with evidence', () => {
    expect(sessionFlags(session(['overlong_session']), evenly(3, 60_000), DEFAULT_FLAG_SETTINGS)).toMatchObject([{ name: 'overlong_session', evidence: ['m0', 'm2'] }]);
  });
});

describe('clock_skew', () => {
  const skewed = (skewMs: number, timeSource: RuleEvent['timeSource'] = 'skew_corrected') =>
    Array.from({ length: 3 }, (_, i) => ({ messageId: `m${i}`, event: 'page_viewed', eventTime: i * 60_000, properties: {}, skewMs, timeSource }));

  it('flags a device clock a day or more off, and client times that could not be believed', () => {
    expect(sessionFlags(session(), skewed(2 * 24 * 3_600_000), DEFAULT_FLAG_SETTINGS)).toEqual([
      { name: 'clock_skew', detail: 'device clock 48.0 h ahead of the server (3 of 3 events)', evidence: ['m0', 'm1', 'm2'] },
    ]);
    expect(names(sessionFlags(session(), skewed(0, 'client_time_rejected'), DEFAULT_FLAG_SETTINGS))).toEqual(['clock_skew']);
    expect(names(sessionFlags(session(), skewed(30 * 3_600_000, 'clamped_future'), DEFAULT_FLAG_SETTINGS))).toEqual(['clock_skew']);
  });

  it('does not flag an ordinary corrected offset (hours, timezone-style)', () => {
    expect(names(sessionFlags(session(), skewed(-3 * 3_600_000), DEFAULT_FLAG_SETTINGS))).toEqual([]);
  });
});
