import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, FunnelOutcome } from '../domain/journey.js';
import type { Session, SessionEvent } from '../domain/session.js';
import type { AnalyticsStore, UserDerivation } from './analytics-store.js';

/**
 * Every analytics adapter (chdb in-process, ClickHouse over HTTP) passes this suite. One store
 * is opened for the whole suite (chdb binds one directory per process); each test uses its own
 * user ids so tests stay independent.
 */
export function describeAnalyticsStoreConformance(name: string, open: () => Promise<AnalyticsStore>): void {
  describe(`AnalyticsStore conformance: ${name}`, () => {
    let store: AnalyticsStore;
    let version = 0;
    const nextVersion = () => (version += 1);
    beforeAll(async () => {
      store = await open();
      await store.migrate(); // twice is fine: migrations are idempotent
    });
    afterAll(async () => {
      await store?.close();
    });

    const sessionsOf = async (userId: string) => (await collect(store.streamSessions({}))).filter((s) => s.userId === userId);
    const eventsOf = async (userId: string) => (await collect(store.streamEvents({}))).filter((e) => e.userId === userId);
    const counts = (sessions: [number, number], events: [number, number], findings: [number, number] = [0, 0], funnels: [number, number] = [0, 0]) => ({
      sessions: { written: sessions[0], deleted: sessions[1] },
      events: { written: events[0], deleted: events[1] },
      findings: { written: findings[0], deleted: findings[1] },
      funnel_outcomes: { written: funnels[0], deleted: funnels[1] },
    });

    it('stores sessions, events, findings and funnel outcomes and reads them back exactly', async () => {
      const s = session('u-exact', 'm1', 1_000);
      const e = event('u-exact', 'm1', s.sessionId, 1_000);
      const f = finding(s, 'rage_clicked');
      const o = outcome(s, 'purchase', 2);
      expect(await store.replaceUsers(['u-exact'], derivation([s], [e], [f], [o]), nextVersion())).toEqual(counts([1, 0], [1, 0], [1, 0], [1, 0]));
      expect(await sessionsOf('u-exact')).toEqual([s]);
      expect(await eventsOf('u-exact')).toEqual([e]);
      expect((await collect(store.streamFindings({}))).filter((x) => x.userId === 'u-exact')).toEqual([f]);
      expect((await collect(store.streamFunnelOutcomes({}))).filter((x) => x.userId === 'u-exact')).toEqual([o]);
      expect(await store.sessionDetail(s.sessionId)).toEqual({ session: s, events: [e], findings: [f], funnelOutcomes: [o] });
      expect(await store.sessionDetail('no-such-session')).toBeNull();
    });

    it('writes nothing when the derivation did not change', async () => {
      const s = session('u-same', 'm1', 1_000);
      const d = derivation([s], [event('u-same', 'm1', s.sessionId, 1_000)], [finding(s, 'bot_like', 'flag')], [outcome(s, 'purchase', 4)]);
      await store.replaceUsers(['u-same'], d, nextVersion());
      expect(await store.replaceUsers(['u-same'], d, nextVersion())).toEqual(counts([0, 0], [0, 0]));
      expect(await sessionsOf('u-same')).toEqual([s]);
    });

    it('replaces changed rows and removes vanished ones, so readers never see both', async () => {
      const first = session('u-merge', 'm1', 1_000);
      const second = session('u-merge', 'm3', 9_000_000);
      await store.replaceUsers(
        ['u-merge'],
        derivation([first, second], [event('u-merge', 'm1', first.sessionId, 1_000), event('u-merge', 'm3', second.sessionId, 9_000_000)], [finding(second, 'rage_clicked')]),
        nextVersion(),
      );
      const merged: Session = { ...first, endedAt: 9_000_000, eventCount: 3, lastEvent: 'checkout_started' };
      const result = await store.replaceUsers(
        ['u-merge'],
        derivation([merged], [event('u-merge', 'm1', first.sessionId, 1_000), event('u-merge', 'm2', first.sessionId, 4_000_000), event('u-merge', 'm3', first.sessionId, 9_000_000)]),
        nextVersion(),
      );
      expect(result).toEqual(counts([1, 1], [2, 0], [0, 1]));
      expect(await sessionsOf('u-merge')).toEqual([merged]);
      expect((await eventsOf('u-merge')).map((e) => [e.messageId, e.sessionId])).toEqual([
        ['m1', first.sessionId],
        ['m2', first.sessionId],
        ['m3', first.sessionId],
      ]);
      expect((await collect(store.streamFindings({}))).filter((x) => x.userId === 'u-merge')).toEqual([]);
      await store.replaceUsers(['u-merge'], derivation([], []), nextVersion());
      expect(await sessionsOf('u-merge')).toEqual([]);
      expect(await eventsOf('u-merge')).toEqual([]);
    });

    it('diffs each user against the rows it has in any table, for users with and without stored rows in one write', async () => {
      const kept = session('u-kept', 'k1', 1_000);
      const keptEvent = event('u-kept', 'k1', kept.sessionId, 1_000);
      await store.replaceUsers(['u-kept'], derivation([kept], [keptEvent], [finding(kept, 'bot_like', 'flag')]), nextVersion());
      // Events without their session: what a write interrupted before the sessions table leaves.
      const partial = session('u-partial', 'p1', 2_000);
      await store.replaceUsers(['u-partial'], derivation([], [event('u-partial', 'p1', partial.sessionId, 2_000)]), nextVersion());
      const fresh = session('u-fresh', 'f1', 3_000);
      const result = await store.replaceUsers(['u-fresh', 'u-kept', 'u-partial'], derivation([kept, fresh], [keptEvent, event('u-fresh', 'f1', fresh.sessionId, 3_000)]), nextVersion());
      expect(result).toEqual(counts([1, 0], [1, 1], [0, 1]));
      expect(await sessionsOf('u-kept')).toEqual([kept]);
      expect(await sessionsOf('u-fresh')).toEqual([fresh]);
      expect(await eventsOf('u-partial')).toEqual([]);
      expect((await collect(store.streamFindings({}))).filter((x) => x.userId === 'u-kept')).toEqual([]);
    });

    it('filters by time range (from inclusive, to exclusive) and orders by time', async () => {
      const day = 86_400_000;
      const sessions = [session('u-range', 'b', 2 * day), session('u-range', 'a', day), session('u-range', 'c', 3 * day)];
      await store.replaceUsers(['u-range'], derivation(sessions, []), nextVersion());
      const inRange = (await collect(store.streamSessions({ from: day, to: 3 * day }))).filter((s) => s.userId === 'u-range');
      expect(inRange.map((s) => s.firstMessageId)).toEqual(['a', 'b']);
    });

    it('reports per-day sessions, label shares, flags and funnel steps, leaving flagged sessions out unless asked', async () => {
      const day = 400 * 86_400_000; // a day no other test writes
      const clean = { ...session('u-report-1', 'r1', day), flags: [], labels: ['rage_clicked'] };
      const converted = { ...session('u-report-2', 'r2', day + 1_000), flags: [], labels: [] };
      const bot = { ...session('u-report-3', 'r3', day + 2_000), flags: ['bot_like'], labels: ['rage_clicked'] };
      await store.replaceUsers(
        ['u-report-1', 'u-report-2', 'u-report-3'],
        derivation([clean, converted, bot], [], [], [outcome(clean, 'purchase', 1), outcome(converted, 'purchase', 4), outcome(bot, 'purchase', 2)]),
        nextVersion(),
      );
      const range = { from: day, to: day + 86_400_000 };
      const report = await store.report(range, false);
      expect(report.sessionsPerDay).toEqual([{ day: new Date(day).toISOString().slice(0, 10), sessions: 3, flagged: 1 }]);
      expect(report.sessions).toEqual({ total: 3, flagged: 1, counted: 2 });
      expect(report.labels).toEqual([{ label: 'rage_clicked', sessions: 1, share: 0.5 }]);
      expect(report.flags).toEqual([{ flag: 'bot_like', sessions: 1 }]);
      expect(report.funnels).toEqual([{ funnel: 'purchase', totalSteps: 4, entered: 2, reachedStep: [2, 1, 1, 1], converted: 1, conversionRate: 0.5 }]);
      const withFlagged = await store.report(range, true);
      expect(withFlagged.labels).toEqual([{ label: 'rage_clicked', sessions: 2, share: 2 / 3 }]);
      expect(withFlagged.funnels[0]!.reachedStep).toEqual([3, 2, 1, 1]);
    });

    it('rebuilds one day partition atomically: exactly the staged rows, other days untouched, an empty day dropped on purpose', async () => {
      const day = 500 * 86_400_000;
      const dayName = new Date(day).toISOString().slice(0, 10);
      const nextDayName = new Date(day + 86_400_000).toISOString().slice(0, 10);
      const old = session('u-rebuild', 'old', day + 1_000);
      const kept = session('u-rebuild', 'next-day', day + 86_400_000 + 5);
      await store.replaceUsers(['u-rebuild'], derivation([old, kept], [event('u-rebuild', 'old', old.sessionId, day + 1_000)], [finding(old, 'rage_clicked')]), nextVersion());
      expect(await store.dayCounts(dayName)).toEqual({ sessions: 1, events: 1, findings: 1, funnel_outcomes: 0, labels: 1, flags: 0 });

      const fresh = session('u-rebuild', 'fresh', day + 2_000);
      const rebuild = await store.rebuildDay(dayName);
      // The next day's session is offered too: it must not leak into this day.
      await rebuild.stage(derivation([fresh, kept], [event('u-rebuild', 'fresh', fresh.sessionId, day + 2_000)], [], [outcome(fresh, 'purchase', 1)]), nextVersion());
      expect(await store.dayCounts(dayName)).toEqual({ sessions: 1, events: 1, findings: 1, funnel_outcomes: 0, labels: 1, flags: 0 }); // nothing visible before commit
      expect(await rebuild.commit()).toEqual({ sessions: 1, events: 1, findings: 0, funnel_outcomes: 1, labels: 0, flags: 0 });
      expect((await sessionsOf('u-rebuild')).map((s) => s.firstMessageId)).toEqual(['fresh', 'next-day']);
      expect(await store.dayCounts(dayName)).toEqual({ sessions: 1, events: 1, findings: 0, funnel_outcomes: 1, labels: 0, flags: 0 });
      expect(await store.dayCounts(nextDayName)).toEqual({ sessions: 1, events: 0, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 });

      const emptied = await store.rebuildDay(dayName);
      expect(await emptied.commit()).toEqual({ sessions: 0, events: 0, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 });
      expect((await sessionsOf('u-rebuild')).map((s) => s.firstMessageId)).toEqual(['next-day']);
      await expect(store.rebuildDay("2026-01-05' OR 1")).rejects.toThrow(/invalid day/);
    });

    it("gives one user's sessions in time order with their events, findings and funnel outcomes, and user-scope outcomes apart", async () => {
      const day = 600 * 86_400_000;
      const later = session('u-timeline', 'm3', day + 7_200_000);
      const earlier = session('u-timeline', 'm1', day);
      const other = session('u-timeline-other', 'o1', day);
      const userOutcome: FunnelOutcome = { ...outcome(earlier, 'purchase', 3), scope: 'user', subjectId: 'u-timeline' };
      await store.replaceUsers(
        ['u-timeline', 'u-timeline-other'],
        derivation(
          [later, earlier, other],
          [
            event('u-timeline', 'm3', later.sessionId, day + 7_200_000),
            event('u-timeline', 'm2', earlier.sessionId, day + 1_000),
            event('u-timeline', 'm1', earlier.sessionId, day),
            event('u-timeline-other', 'o1', other.sessionId, day),
          ],
          [finding(later, 'rage_clicked'), finding(earlier, 'bot_like', 'flag'), finding(earlier, 'compared_products_before_adding')],
          [outcome(earlier, 'purchase', 2), outcome(earlier, 'onboarding', 0), outcome(later, 'purchase', 3), userOutcome, outcome(other, 'purchase', 1)],
        ),
        nextVersion(),
      );
      const timeline = await store.sessionsOfUser('u-timeline');
      expect(timeline.sessions.map((d) => d.session)).toEqual([earlier, later]);
      expect(timeline.sessions[0]!.events.map((e) => e.messageId)).toEqual(['m1', 'm2']);
      expect(timeline.sessions[0]!.findings.map((f) => [f.kind, f.name])).toEqual([
        ['flag', 'bot_like'],
        ['label', 'compared_products_before_adding'],
      ]);
      expect(timeline.sessions[0]!.funnelOutcomes.map((o) => o.funnel)).toEqual(['onboarding', 'purchase']);
      expect(timeline.sessions[1]).toEqual({
        session: later,
        events: [event('u-timeline', 'm3', later.sessionId, day + 7_200_000)],
        findings: [finding(later, 'rage_clicked')],
        funnelOutcomes: [outcome(later, 'purchase', 3)],
      });
      expect(timeline.userFunnelOutcomes).toEqual([userOutcome]);
      // sessionDetail: the session's outcomes and its own user's, never another user's.
      const otherUserOutcome: FunnelOutcome = { ...outcome(other, 'purchase', 1), scope: 'user', subjectId: 'u-timeline-other' };
      await store.replaceUsers(
        ['u-timeline-other'],
        derivation([other], [event('u-timeline-other', 'o1', other.sessionId, day)], [], [outcome(other, 'purchase', 1), otherUserOutcome]),
        nextVersion(),
      );
      expect((await store.sessionDetail(earlier.sessionId))!.funnelOutcomes).toEqual([outcome(earlier, 'onboarding', 0), outcome(earlier, 'purchase', 2), userOutcome]);
      expect(await store.sessionsOfUser("u-timeline' OR '1'='1")).toEqual({ sessions: [], userFunnelOutcomes: [] });
    });

    it('finds the session each event was placed in, by message id', async () => {
      const day = 700 * 86_400_000;
      const s = session('u-placed', 'p1', day);
      await store.replaceUsers(['u-placed'], derivation([s], [event('u-placed', 'p1', s.sessionId, day), event('u-placed', 'p2', s.sessionId, day + 90_000_000)]), nextVersion());
      const found = await store.sessionIdsOfEvents([
        { messageId: 'p1', eventTime: day },
        { messageId: 'p2', eventTime: day + 90_000_000 },
        { messageId: 'not-derived', eventTime: day },
        { messageId: "p1' OR '1'='1", eventTime: day },
      ]);
      expect(Object.fromEntries(found)).toEqual({ p1: s.sessionId, p2: s.sessionId });
      expect((await store.sessionIdsOfEvents([])).size).toBe(0);
    });

    it('answers the data-quality measures checks need: per-day counts, freshness, property profiles, flag shares, session placement, custom SQL', async () => {
      const day = 911 * 86_400_000; // days no other test writes
      const range = { from: day, to: day + 2 * 86_400_000 };
      const s1 = { ...session('u-checks', 'c1', day + 1_000), eventCount: 3, flags: ['bot_like'] };
      const s2 = { ...session('u-checks', 'c4', day + 86_400_000 + 5_000), eventCount: 2, flags: [] };
      const ev = (messageId: string, s: Session, at: number, properties: string) => ({ ...event('u-checks', messageId, s.sessionId, at), event: 'product_viewed', propertiesJson: properties });
      await store.replaceUsers(
        ['u-checks'],
        derivation(
          [s1, s2],
          [
            ev('c1', s1, day + 1_000, '{"product_id":1}'),
            ev('c2', s1, day + 2_000, '{"product_id":null}'),
            ev('c3', s1, day + 3_000, '{"product_id":"x1"}'),
            ev('c4', s2, day + 86_400_000 + 5_000, '{}'),
          ],
        ),
        nextVersion(),
      );
      const dayName = (offset: number) => new Date(day + offset * 86_400_000).toISOString().slice(0, 10);
      expect(await store.dailyCounts('events', range)).toEqual([
        { day: dayName(0), count: 3 },
        { day: dayName(1), count: 1 },
      ]);
      expect(await store.dailyCounts('sessions', range)).toEqual([
        { day: dayName(0), count: 1 },
        { day: dayName(1), count: 1 },
      ]);
      expect(await store.newestEventTime(day + 86_400_000)).toBe(day + 3_000);
      expect(await store.newestEventTime(1)).toBeNull();
      const profile = await store.propertyProfile(range, 'product_viewed', 'product_id', ['1', '2'], 10);
      expect(profile).toEqual({ rows: 4, missing: 2, missingSample: expect.arrayContaining(['c2', 'c4']), unexpected: 1, unexpectedValues: [{ value: '"x1"', rows: 1, example: 'c3' }] });
      expect((await store.propertyProfile(range, 'product_viewed', "x' OR 1=1", null, 10)).missing).toBe(4);
      expect(await store.flagShare(range, 'bot_like', 10)).toEqual({ sessions: 2, flagged: 1, sample: [s1.sessionId] });
      expect((await store.flagShare(range, null, 10)).flagged).toBe(1);
      expect((await store.flagShare(range, '*', 10)).flagged).toBe(0); // a flag name, not a pattern
      // s2 declares 2 events but has 1: one mismatched session on the second day.
      expect(await store.sessionPlacement(range, { eventMarginMs: 2 * 86_400_000, sampleSize: 10 })).toEqual([
        { day: dayName(0), sessions: 1, declared: 3, placed: 3, mismatchedSessions: 0, sample: [] },
        { day: dayName(1), sessions: 1, declared: 2, placed: 1, mismatchedSessions: 1, sample: [s2.sessionId] },
      ]);
      // No margin: events are looked for in the range alone (here the second day holds s2 and its event).
      expect(await store.sessionPlacement({ from: day + 86_400_000, to: range.to }, { eventMarginMs: 0, sampleSize: 1 })).toEqual([
        { day: dayName(1), sessions: 1, declared: 2, placed: 1, mismatchedSessions: 1, sample: [s2.sessionId] },
      ]);
      // A custom query is written in the engine's SQL, its parameters bound by the engine's syntax.
      const customSql =
        store.engine === 'bigquery'
          ? "SELECT message_id FROM events WHERE event_time >= @from AND event_time < @to AND UNIX_MILLIS(event_time) < @to_ms AND user_id = 'u-checks' ORDER BY message_id"
          : "SELECT message_id FROM {db:Identifier}.events FINAL WHERE event_time >= {from:DateTime64(3)} AND event_time < {to:DateTime64(3)} AND user_id = 'u-checks' ORDER BY message_id";
      const custom = await store.queryRows(customSql, { from: day, to: day + 86_400_000 }, 2);
      expect(custom).toEqual({ rows: [{ message_id: 'c1' }, { message_id: 'c2' }], total: 3 });
      await expect(store.queryRows('SELECT nonsense FROM nowhere', range, 1)).rejects.toThrow(/the query failed/);
      await expect(store.queryRows('DROP TABLE {db:Identifier}.events', range, 1)).rejects.toThrow(/must be a SELECT/);
      // A second statement cannot ride along: the query runs wrapped in the engine's own subquery.
      await expect(store.queryRows('SELECT 1 AS n; DROP TABLE events', range, 1)).rejects.toThrow();
      await store.storeCheckFailures([{ runId: 'r1', runAt: day, check: 'c', checkType: 'sql', status: 'fail', row: '{"a":1}' }]);
    });

    it('binds user ids as parameters: a quote in an id is data, not SQL', async () => {
      const hostile = "x' OR '1'='1";
      const s = session(hostile, 'm1', 5_000);
      await store.replaceUsers([hostile], derivation([s], []), nextVersion());
      expect(await sessionsOf(hostile)).toEqual([s]);
      expect(await store.replaceUsers([hostile], derivation([s], []), nextVersion())).toEqual(counts([0, 0], [0, 0]));
      expect(await store.sessionDetail("' OR 1=1 --")).toBeNull();
      expect((await store.counts()).sessions).toBeGreaterThan(0);
    });
  });
}

function derivation(sessions: Session[], events: SessionEvent[], findings: Finding[] = [], funnelOutcomes: FunnelOutcome[] = []): UserDerivation {
  return { sessions, events, findings, funnelOutcomes };
}

function session(userId: string, firstMessageId: string, startedAt: number): Session {
  return {
    sessionId: `${userId}/${firstMessageId}`,
    userId,
    anonymousIds: ['anon-a', 'anon-b'],
    startedAt,
    endedAt: startedAt + 60_000,
    eventCount: 2,
    firstEvent: 'page_viewed',
    lastEvent: 'product_added',
    firstMessageId,
    appVersions: ['2.3.0'],
    flags: ['overlong_session'],
    labels: [],
    mode: 'client@1',
  };
}

function event(userId: string, messageId: string, sessionId: string, eventTime: number): SessionEvent {
  return {
    messageId,
    userId,
    anonymousId: 'anon-a',
    sessionId,
    eventTime,
    type: 'track',
    event: 'page_viewed',
    appVersion: '2.3.0',
    timeSource: 'skew_corrected',
    skewMs: -7_200_000,
    propertiesJson: '{"path":"/"}',
  };
}

function finding(s: Session, name: string, kind: Finding['kind'] = 'label'): Finding {
  return { kind, name, ruleVersion: 1, userId: s.userId, sessionId: s.sessionId, startedAt: s.startedAt, detail: '4 × button_clicked', evidence: ['m1', 'm2'] };
}

function outcome(s: Session, funnel: string, stepsReached: number): FunnelOutcome {
  return { scope: 'session', subjectId: s.sessionId, userId: s.userId, funnel, startedAt: s.startedAt, stepsReached, totalSteps: 4, converted: stepsReached === 4, evidence: ['m1'] };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
