import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BOT_UAS,
  BUGGY_VERSION,
  MIN_SESSION_GAP_MS,
  TIMING,
  createFixture,
  generateEvents,
  generateTruth,
  referencePipeline,
  referenceValidate,
  usersForEvents,
  verifyAgainstTruth,
  type GeneratorOptions,
  type GroundTruth,
} from './index.js';
import type { RefEvent, RefSession } from './verify.js';
import { iso } from './time.js';

function run(options: GeneratorOptions): { lines: string[]; truth: GroundTruth } {
  const f = createFixture(options);
  const lines = [...f.lines];
  return { lines, truth: f.truth() };
}

function digest(options: GeneratorOptions): string {
  const h = createHash('sha256');
  for (const l of generateEvents(options)) h.update(l).update('\n');
  return h.digest('hex');
}

const MIN = 60_000;
// Per-event network latency varies by at most this much within a device (ms).
const JITTER = 15;

describe('determinism', () => {
  it('same seed and options give the same bytes; another seed does not', () => {
    const a = digest({ users: 120, seed: 42, buggyRelease: true });
    expect(digest({ users: 120, seed: 42, buggyRelease: true })).toBe(a);
    expect(digest({ users: 120, seed: '42', buggyRelease: true })).toBe(a);
    expect(digest({ users: 120, seed: 43, buggyRelease: true })).not.toBe(a);
    expect(digest({ users: 120, seed: 'forty-two', buggyRelease: true })).not.toBe(a);
    expect(digest({ users: 120, seed: 42 })).not.toBe(a);
  });

  it('the truth is deterministic too and is the generator return value', () => {
    const f = createFixture({ users: 60, seed: 5 });
    let r = f.lines.next();
    while (r.done !== true) r = f.lines.next();
    expect(r.value).toBe(f.truth());
    expect(JSON.stringify(generateTruth({ users: 60, seed: 5 }))).toBe(JSON.stringify(r.value));
  });

  it('turning noise off keeps every user, session, intent and message id', () => {
    const noisy = run({ users: 80, seed: 11 }).truth;
    const clean = run({ users: 80, seed: 11, noise: false }).truth;
    const shape = (t: GroundTruth) =>
      t.users.map((u) => [u.canonicalId, u.kind, u.identifyCalls.map((c) => c.messageId), u.sessions.map((s) => [s.intent, s.eventCount, s.firstMessageId, s.lastMessageId])]);
    expect(shape(clean)).toEqual(shape(noisy));
    expect(clean.counts.duplicates + clean.counts.retriedDuplicates + clean.counts.malformedTotal + clean.counts.late + clean.counts.skewedUsers).toBe(0);
    expect(clean.counts.lines).toBe(clean.counts.validEvents);
  });

  it('fast ISO formatting matches Date#toISOString', () => {
    const base = Date.parse('2026-01-05T00:00:00.000Z');
    for (let i = 0; i < 20_000; i++) {
      const ms = base + Math.floor((i * 7_919_993.7) % (9 * 86_400_000)) - 3 * 3_600_000;
      expect(iso(ms)).toBe(new Date(ms).toISOString());
    }
    expect(iso(Date.parse('2028-02-29T23:59:59.999Z'))).toBe('2028-02-29T23:59:59.999Z');
  });
});

describe('truth matches the stream', () => {
  for (const options of [
    { users: 42, seed: 42, buggyRelease: true },
    { users: 20, seed: 7, noise: false },
    { users: 400, seed: 3, buggyRelease: true, cohortSize: 150 },
    { users: 80, seed: 8, days: 1, start: '2025-12-31T22:00:00.000Z', buggyRelease: true },
  ] as GeneratorOptions[]) {
    it(`reference pipeline reproduces counts and every session: ${JSON.stringify(options)}`, () => {
      const { lines, truth } = run(options);
      const { problems } = verifyAgainstTruth(lines, truth);
      expect(problems).toEqual([]);
      const start = Date.parse(truth.period.start);
      const end = Date.parse(truth.period.end);
      for (const u of truth.users) {
        for (const s of u.sessions) {
          expect(Date.parse(s.startedAt)).toBeGreaterThanOrEqual(start);
          expect(Date.parse(s.endedAt)).toBeLessThan(end);
        }
      }
    });
  }

  it('counts agree with a plain reading of the lines', () => {
    const { lines, truth } = run({ users: 300, seed: 9, buggyRelease: true });
    const c = truth.counts;
    expect(lines.length).toBe(c.lines);
    let unparsable = 0;
    let arrays = 0;
    const firstText = new Map<string, string>();
    let exact = 0;
    let retried = 0;
    for (const l of lines) {
      expect(l.includes('\n')).toBe(false);
      let o: unknown;
      try {
        o = JSON.parse(l);
      } catch {
        unparsable++;
        continue;
      }
      if (Array.isArray(o)) {
        arrays++;
        continue;
      }
      const id = (o as { messageId?: string }).messageId;
      if (id === undefined) continue;
      const prev = firstText.get(id);
      if (prev === undefined) firstText.set(id, l);
      else if (prev === l) exact++;
      else retried++;
    }
    expect(unparsable).toBe(c.malformed.invalid_json ?? 0);
    expect(arrays).toBe(c.malformed.not_an_object ?? 0);
    expect(exact).toBe(c.duplicates);
    expect(retried).toBe(c.retriedDuplicates);
    expect(c.lines).toBe(c.validEvents + c.duplicates + c.retriedDuplicates + c.malformedTotal + c.buggy);
    expect(c.validEvents).toBe(c.activityEvents + c.identityEvents);
    // Listed ids are exactly the duplicated / late ones.
    expect(new Set(truth.noiseDetail.duplicates).size).toBe(c.duplicates);
    expect(truth.noiseDetail.late.length).toBe(c.late);
    expect(truth.noiseDetail.noReceivedAt.length).toBe(c.noReceivedAt);
    for (const id of truth.noiseDetail.noReceivedAt) expect(firstText.get(id)).not.toContain('"receivedAt"');
    const sessions = truth.users.reduce((n, u) => n + u.sessions.length, 0);
    expect(sessions).toBe(c.sessions);
    expect(truth.users.reduce((n, u) => n + u.identifyCalls.length, 0)).toBe(c.identityEvents);
  });

  it('per-line lists are capped for large runs', () => {
    const truth = generateTruth({ users: 300, seed: 9, maxListedIds: 5 });
    expect(truth.noiseDetail.truncated).toBe(true);
    expect(truth.noiseDetail.duplicates.length).toBe(5);
    expect(truth.counts.duplicates).toBeGreaterThan(5);
    const none = generateTruth({ users: 50, seed: 9, maxListedIds: 0, includeUsers: false });
    expect(none.users).toEqual([]);
    expect(none.noiseDetail.late).toEqual([]);
    expect(none.counts.humans + none.counts.bots).toBe(50);
  });
});

describe('sessions and behaviour', () => {
  const { lines, truth } = run({ users: 500, seed: 2024, buggyRelease: true });
  const ref = referencePipeline(lines);
  const sessionsOf = (id: string): RefSession[] => ref.sessions.get(id) ?? [];
  const humans = truth.users.filter((u) => u.kind === 'human');
  const bots = truth.users.filter((u) => u.kind === 'bot');

  it('human sessions: gaps < 30 min inside, ≥ 2 h between, 3–40 events, ≥ 1 s apart except rage clicks', () => {
    let checked = 0;
    for (const u of humans) {
      const ss = sessionsOf(u.canonicalId);
      expect(ss.length).toBe(u.sessions.length);
      expect(u.sessions.length).toBeGreaterThanOrEqual(1);
      expect(u.sessions.length).toBeLessThanOrEqual(6);
      ss.forEach((s, i) => {
        const intent = u.sessions[i]!.intent;
        expect(s.events.length).toBeGreaterThanOrEqual(TIMING.minEventsPerSession);
        expect(s.events.length).toBeLessThanOrEqual(intent === 'fast_human' ? TIMING.fastMaxEvents : TIMING.maxEventsPerSession);
        for (let k = 1; k < s.events.length; k++) {
          const a = s.events[k - 1]!;
          const b = s.events[k]!;
          const gap = b.time - a.time;
          expect(gap).toBeLessThan(30 * MIN);
          expect(gap).toBeLessThanOrEqual(TIMING.humanGapMax + JITTER);
          const rage = a.event === 'button_clicked' && b.event === 'button_clicked' && a.properties['target'] === b.properties['target'] && intent === 'rage_click';
          if (rage) expect(gap).toBeGreaterThanOrEqual(TIMING.rageGapMin - JITTER);
          else expect(gap).toBeGreaterThanOrEqual(1000);
          checked++;
        }
        if (i > 0) expect(s.startedAt - ss[i - 1]!.endedAt).toBeGreaterThanOrEqual(2 * 60 * MIN);
      });
    }
    expect(checked).toBeGreaterThan(5000);
  });

  it('each intent has its pattern and near misses do not', () => {
    const distinctViewsBeforeAdd = (evs: RefEvent[]): number => {
      const seen = new Set<unknown>();
      for (const e of evs) {
        if (e.event === 'product_added') return seen.size;
        if (e.event === 'product_viewed') seen.add(e.properties['product_id']);
      }
      return -1;
    };
    const errorsAfterCheckout = (evs: RefEvent[]): number => {
      const start = evs.findIndex((e) => e.event === 'checkout_started');
      return start < 0 ? -1 : evs.slice(start).filter((e) => e.event === 'form_error' && e.properties['form'] === 'checkout').length;
    };
    const hasRage = (evs: RefEvent[]): boolean =>
      evs.some((e, i) => {
        if (e.event !== 'button_clicked') return false;
        const same = evs.slice(i).filter((x) => x.event === 'button_clicked' && x.properties['target'] === e.properties['target'] && x.time - e.time <= 3000);
        return same.length >= 4;
      });
    const seen = new Set<string>();
    for (const u of humans) {
      sessionsOf(u.canonicalId).forEach((s, i) => {
        const intent = u.sessions[i]!.intent;
        const evs = s.events;
        const names = evs.map((e) => e.event);
        seen.add(intent);
        expect(hasRage(evs)).toBe(intent === 'rage_click');
        switch (intent) {
          case 'compare_then_add':
            expect(distinctViewsBeforeAdd(evs)).toBeGreaterThanOrEqual(3);
            break;
          case 'single_product_add': {
            const d = distinctViewsBeforeAdd(evs);
            expect(d).toBeGreaterThanOrEqual(1);
            expect(d).toBeLessThanOrEqual(2);
            expect(names).not.toContain('checkout_started');
            break;
          }
          case 'checkout_struggle':
            expect(errorsAfterCheckout(evs)).toBeGreaterThanOrEqual(3);
            break;
          case 'checkout_minor_trouble':
            expect([1, 2]).toContain(errorsAfterCheckout(evs));
            expect(names).toContain('form_submitted');
            break;
          case 'checkout_success':
            expect(errorsAfterCheckout(evs)).toBe(0);
            for (const n of ['product_added', 'checkout_started', 'form_submitted', 'order_completed']) expect(names).toContain(n);
            expect(evs.find((e) => e.event === 'form_submitted')!.properties['success']).toBe(true);
            expect(typeof evs.find((e) => e.event === 'order_completed')!.properties['revenue']).toBe('number');
            break;
          case 'onboarding_dropoff':
            expect(names).toContain('signup_started');
            expect(names).not.toContain('onboarding_completed');
            expect(names.filter((n) => n === 'onboarding_step_completed').length).toBeLessThanOrEqual(2);
            break;
          case 'onboarding_complete':
            expect(names).toContain('signup_started');
            expect(names).toContain('onboarding_completed');
            break;
          case 'fast_human': {
            const gaps = evs.slice(1).map((e, k) => e.time - evs[k]!.time);
            expect(Math.max(...gaps)).toBeLessThanOrEqual(TIMING.fastGapMax + JITTER);
            expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
            break;
          }
          case 'browse':
            expect(names).not.toContain('product_added');
            expect(names).not.toContain('checkout_started');
            break;
          default:
            break;
        }
        if (intent !== 'checkout_struggle' && intent !== 'checkout_minor_trouble') expect(Math.max(0, errorsAfterCheckout(evs))).toBe(0);
        if (!['compare_then_add', 'browse', 'fast_human', 'rage_click'].includes(intent)) {
          // Nothing else reaches the compare_then_add pattern.
          expect(distinctViewsBeforeAdd(evs)).toBeLessThan(3);
        }
      });
    }
    expect(seen.size).toBe(10);
  });

  it('identity: anonymous first, identify later, two-device users, ~15% never identified', () => {
    const kinds = new Map<string, number>();
    for (const u of humans) kinds.set(u.identity, (kinds.get(u.identity) ?? 0) + 1);
    const share = (k: string) => (kinds.get(k) ?? 0) / humans.length;
    expect(share('anonymous_then_identified')).toBeGreaterThan(0.5);
    expect(share('anonymous_then_identified')).toBeLessThan(0.7);
    expect(share('never_identified')).toBeGreaterThan(0.1);
    expect(share('never_identified')).toBeLessThan(0.2);
    expect(humans.filter((u) => u.devices === 2).length).toBeGreaterThan(10);
    for (const u of humans) {
      if (u.identity === 'never_identified') {
        expect(u.canonicalId).toBe(u.anonymousIds[0]);
        expect(u.identifyCalls).toEqual([]);
      } else expect(u.canonicalId).toBe(u.userId);
      if (u.identity === 'anonymous_then_identified') {
        expect(u.identifyCalls.length).toBe(u.devices);
        // Before its identify call, a device's events are anonymous; after, they carry the userId.
        for (const call of u.identifyCalls) {
          const at = Date.parse(call.at);
          for (const s of sessionsOf(u.canonicalId)) {
            for (const e of s.events) {
              if (e.anonymousId !== call.anonymousId) continue;
              expect(e.userId).toBe(e.time < at ? null : u.userId);
            }
          }
        }
      }
    }
    const identify = lines.find((l) => l.includes('"type":"identify"'))!;
    const o = JSON.parse(identify) as { userId: string; anonymousId: string; traits: { email: string; plan: string } };
    expect(o.userId).toMatch(/^usr_/);
    expect(o.anonymousId).toBeTruthy();
    expect(o.traits.email).toContain('@');
    expect(['free', 'pro', 'team']).toContain(o.traits.plan);
  });

  it('bots: ~3%, bursts of 300–2000 page/product views 50–300 ms apart, ≤ 2 h, bot user agents, no identify', () => {
    expect(bots.length).toBe(Math.round(500 * 0.03));
    expect(truth.bots).toEqual(bots.map((b) => b.canonicalId));
    for (const b of bots) {
      expect(b.identifyCalls).toEqual([]);
      const ss = sessionsOf(b.canonicalId);
      expect(ss.length).toBe(b.sessions.length);
      for (const s of ss) {
        expect(s.events.length).toBeGreaterThanOrEqual(300);
        expect(s.events.length).toBeLessThanOrEqual(2000);
        expect(s.endedAt - s.startedAt).toBeLessThanOrEqual(2 * 60 * MIN);
        for (let k = 0; k < s.events.length; k++) {
          const e = s.events[k]!;
          expect(['page_viewed', 'product_viewed']).toContain(e.event);
          expect(e.userId).toBeNull();
          expect(BOT_UAS as readonly string[]).toContain(e.userAgent);
          if (k > 0) {
            const gap = e.time - s.events[k - 1]!.time;
            expect(gap).toBeGreaterThanOrEqual(50);
            expect(gap).toBeLessThanOrEqual(300);
          }
        }
      }
    }
    for (const u of humans) for (const s of sessionsOf(u.canonicalId)) for (const e of s.events) expect(BOT_UAS as readonly string[]).not.toContain(e.userAgent);
  });

  it('bot count rule: at least one from 20 users, ~3% beyond', () => {
    for (const [users, want] of [
      [10, 0],
      [19, 1],
      [20, 1],
      [40, 1],
      [100, 3],
      [1000, 30],
    ] as const) {
      const t = generateTruth({ users, seed: 1, noise: false, includeUsers: false });
      if (users === 19) expect(t.counts.bots).toBeLessThanOrEqual(1);
      else expect(t.counts.bots).toBe(want);
    }
  });

  it('buggy release: ~30% of the hour, all from 2.4.0-buggy, all rejected', () => {
    const br = truth.buggyRelease!;
    expect(br.version).toBe(BUGGY_VERSION);
    expect(Date.parse(br.windowEnd) - Date.parse(br.windowStart)).toBe(60 * MIN);
    expect(Date.parse(br.windowStart) - Date.parse(truth.period.start)).toBeGreaterThanOrEqual(24 * 60 * MIN);
    expect(Date.parse(br.windowStart) - Date.parse(truth.period.start)).toBeLessThan(48 * 60 * MIN);
    const buggy = lines.filter((l) => l.includes(`"version":"${BUGGY_VERSION}"`));
    expect(buggy.length).toBe(br.events);
    expect(br.share).toBeGreaterThan(0.2);
    expect(br.share).toBeLessThan(0.4);
    let badTimestamps = 0;
    for (const l of buggy) {
      const o = JSON.parse(l) as { receivedAt: string; timestamp: string };
      const r = Date.parse(o.receivedAt);
      expect(r).toBeGreaterThanOrEqual(Date.parse(br.windowStart));
      expect(r).toBeLessThan(Date.parse(br.windowEnd));
      if (Number.isNaN(Date.parse(o.timestamp))) badTimestamps++;
      expect('reason' in referenceValidate(l, 0)).toBe(true);
    }
    expect(badTimestamps / buggy.length).toBeGreaterThan(0.3);
    expect(badTimestamps / buggy.length).toBeLessThan(0.5);
    expect(buggy.some((l) => l.includes('"buton_clicked"'))).toBe(true);
    expect(buggy.some((l) => /"product_id":"\d+"/.test(l))).toBe(true);
  });
});

describe('noise', () => {
  const { lines, truth } = run({ users: 2000, seed: 77, maxListedIds: 100_000 });
  const c = truth.counts;

  it('rates are near the documented ones', () => {
    const near = (got: number, want: number, tol: number) => {
      expect(got).toBeGreaterThan(want * (1 - tol));
      expect(got).toBeLessThan(want * (1 + tol));
    };
    near(c.duplicates / c.validEvents, 0.02, 0.15);
    near(c.retriedDuplicates / c.validEvents, 0.01, 0.2);
    near(c.late / c.validEvents, 0.02, 0.15);
    near(c.malformedTotal / c.activityEvents, 0.005, 0.3);
    near(c.noReceivedAt / c.validEvents, 0.005 * 0.9, 0.3);
    near(c.skewedUsers / c.humans, 0.1, 0.3);
    for (const r of ['invalid_json', 'not_an_object', 'missing_message_id', 'missing_event', 'invalid_timestamp', 'illegal_identity', 'payload_too_large']) {
      expect(c.malformed[r as keyof typeof c.malformed] ?? 0).toBeGreaterThan(0);
    }
  });

  it('late arrivals, skewed clocks and missing receivedAt still recover the true time', () => {
    const byId = new Map<string, { line: number; o: Record<string, string> }>();
    lines.forEach((l, i) => {
      if (!l.startsWith('{')) return;
      try {
        const o = JSON.parse(l) as Record<string, string>;
        if (typeof o['messageId'] === 'string' && !byId.has(o['messageId'])) byId.set(o['messageId'], { line: i, o });
      } catch {
        /* malformed */
      }
    });
    const t = (o: Record<string, string>, k: string): number => Date.parse(o[k]!);
    for (const id of truth.noiseDetail.late) {
      const { o } = byId.get(id)!;
      // Queued on the device for 1–30 h: sentAt − timestamp is the delay, receivedAt is hours later.
      const queued = t(o, 'sentAt') - t(o, 'timestamp');
      expect(queued).toBeGreaterThanOrEqual(60 * MIN);
      expect(queued).toBeLessThanOrEqual(30 * 60 * MIN);
    }
    const skewed = truth.users.filter((u) => u.skewMs !== 0);
    expect(skewed.length).toBeGreaterThan(0);
    const late = new Set(truth.noiseDetail.late);
    for (const u of skewed) {
      expect(u.skewMs).toBeGreaterThanOrEqual(-3 * 60 * MIN);
      expect(u.skewMs).toBeLessThanOrEqual(48 * 60 * MIN);
      for (const s of u.sessions) {
        for (const id of [s.firstMessageId, s.lastMessageId]) {
          const o = byId.get(id)!.o;
          // The device clock is off by skewMs (minus a few ms of network latency)…
          if (!late.has(id)) expect(Math.abs(t(o, 'sentAt') - t(o, 'receivedAt') - u.skewMs)).toBeLessThan(100);
          // …and receivedAt − (sentAt − timestamp) is the recorded session time.
        }
        const f = byId.get(s.firstMessageId)!.o;
        expect(new Date(t(f, 'receivedAt') - (t(f, 'sentAt') - t(f, 'timestamp'))).toISOString()).toBe(s.startedAt);
      }
    }
    for (const id of truth.noiseDetail.noReceivedAt) expect(byId.get(id)!.o['receivedAt']).toBeUndefined();
    // A duplicate comes later in the stream than its original.
    for (const id of truth.noiseDetail.duplicates.slice(0, 200)) {
      const firstLine = byId.get(id)!.line;
      const text = lines[firstLine]!;
      expect(lines.indexOf(text, firstLine + 1)).toBeGreaterThan(firstLine);
    }
  });

  it('oversized payloads are over 40 KB and everything else is small', () => {
    for (const l of lines) {
      const big = l.includes('"debug_dump"');
      if (big) expect(Buffer.byteLength(l)).toBeGreaterThan(40 * 1024);
      else expect(Buffer.byteLength(l)).toBeLessThan(4 * 1024);
    }
  });
});

describe('streaming', () => {
  // Laziness is shown by what was generated before the first lines, not by a clock (a loaded machine is slow).
  it('is lazy: the first lines of a 1M-event run come before any cohort is finished', () => {
    const users = usersForEvents(1_000_000);
    expect(users).toBeGreaterThan(10_000);
    const f = createFixture({ users, seed: 3, includeUsers: false, maxListedIds: 0 });
    const first: string[] = [];
    for (const l of f.lines) {
      first.push(l);
      if (first.length === 10) break;
    }
    expect(first.length).toBe(10);
    expect(f.stats().cohorts).toBe(0);
    expect(f.stats().maxBufferedLines).toBeLessThan(100_000);
  });

  it('300k lines with bounded buffering and heap', () => {
    const f = createFixture({ users: usersForEvents(300_000), seed: 4, includeUsers: false, maxListedIds: 1000 });
    const before = process.memoryUsage().heapUsed;
    let n = 0;
    let peak = 0;
    for (const l of f.lines) {
      n += l.length > 0 ? 1 : 0;
      if ((n & 0x3fff) === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
    const s = f.stats();
    expect(n).toBeGreaterThan(250_000);
    expect(s.cohorts).toBeGreaterThan(5);
    // Only one cohort is ever buffered.
    expect(s.maxBufferedLines).toBeLessThan(n / 4);
    // Holding 300k lines (~150 MB of text) would show; one cohort plus garbage does not.
    expect(peak).toBeLessThan(400 * 1024 * 1024);
  });

  it('measures generation speed for 1M lines', () => {
    const t0 = performance.now();
    let n = 0;
    let bytes = 0;
    for (const l of generateEvents({ users: usersForEvents(1_000_000), seed: 2026, includeUsers: false, maxListedIds: 0 })) {
      n++;
      bytes += l.length + 1;
    }
    const s = (performance.now() - t0) / 1000;
    console.log(`generator: ${n} lines, ${(bytes / 1e6).toFixed(0)} MB in ${s.toFixed(2)} s = ${Math.round(n / s)} lines/s`);
    expect(n).toBeGreaterThan(900_000);
    expect(n).toBeLessThan(1_100_000);
  }, 120_000);
});

describe('time rules recorded in truth', () => {
  it('exposes the rules the stream satisfies', () => {
    const t = generateTruth({ users: 25, seed: 1 });
    expect(t.rules.sessionGapMinutes).toBe(30);
    expect(t.rules.minGapBetweenSessionsMs).toBe(MIN_SESSION_GAP_MS);
    expect(t.rules.maxGapWithinSessionMs).toBeLessThan(30 * MIN);
    expect(t.period).toEqual({ start: '2026-01-05T00:00:00.000Z', end: '2026-01-08T00:00:00.000Z' });
  });
});
