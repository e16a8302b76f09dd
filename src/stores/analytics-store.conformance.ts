import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session, SessionEvent } from '../domain/session.js';
import type { AnalyticsStore } from './analytics-store.js';

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

    it('stores sessions and events and reads them back exactly', async () => {
      const s = session('u-exact', 'm1', 1_000);
      const e = event('u-exact', 'm1', s.sessionId, 1_000);
      expect(await store.replaceUsers(['u-exact'], [s], [e], nextVersion())).toEqual({ sessionsWritten: 1, sessionsDeleted: 0, eventsWritten: 1, eventsDeleted: 0 });
      expect(await sessionsOf('u-exact')).toEqual([s]);
      expect(await eventsOf('u-exact')).toEqual([e]);
    });

    it('writes nothing when the derivation did not change', async () => {
      const s = session('u-same', 'm1', 1_000);
      const e = event('u-same', 'm1', s.sessionId, 1_000);
      await store.replaceUsers(['u-same'], [s], [e], nextVersion());
      expect(await store.replaceUsers(['u-same'], [s], [e], nextVersion())).toEqual({ sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 });
      expect(await sessionsOf('u-same')).toEqual([s]);
    });

    it('replaces changed rows and removes vanished ones, so readers never see both', async () => {
      const first = session('u-merge', 'm1', 1_000);
      const second = session('u-merge', 'm3', 9_000_000);
      await store.replaceUsers(
        ['u-merge'],
        [first, second],
        [event('u-merge', 'm1', first.sessionId, 1_000), event('u-merge', 'm3', second.sessionId, 9_000_000)],
        nextVersion(),
      );
      const merged: Session = { ...first, endedAt: 9_000_000, eventCount: 3, lastEvent: 'checkout_started' };
      const result = await store.replaceUsers(
        ['u-merge'],
        [merged],
        [event('u-merge', 'm1', first.sessionId, 1_000), event('u-merge', 'm2', first.sessionId, 4_000_000), event('u-merge', 'm3', first.sessionId, 9_000_000)],
        nextVersion(),
      );
      expect(result).toEqual({ sessionsWritten: 1, sessionsDeleted: 1, eventsWritten: 2, eventsDeleted: 0 });
      expect(await sessionsOf('u-merge')).toEqual([merged]);
      expect((await eventsOf('u-merge')).map((e) => [e.messageId, e.sessionId])).toEqual([
        ['m1', first.sessionId],
        ['m2', first.sessionId],
        ['m3', first.sessionId],
      ]);
      await store.replaceUsers(['u-merge'], [], [], nextVersion());
      expect(await sessionsOf('u-merge')).toEqual([]);
      expect(await eventsOf('u-merge')).toEqual([]);
    });

    it('filters by time range (from inclusive, to exclusive) and orders by time', async () => {
      const day = 86_400_000;
      const sessions = [session('u-range', 'b', 2 * day), session('u-range', 'a', day), session('u-range', 'c', 3 * day)];
      await store.replaceUsers(['u-range'], sessions, [], nextVersion());
      const inRange = (await collect(store.streamSessions({ from: day, to: 3 * day }))).filter((s) => s.userId === 'u-range');
      expect(inRange.map((s) => s.firstMessageId)).toEqual(['a', 'b']);
    });

    it('binds user ids as parameters: a quote in an id is data, not SQL', async () => {
      const hostile = "x' OR '1'='1";
      const s = session(hostile, 'm1', 5_000);
      await store.replaceUsers([hostile], [s], [], nextVersion());
      expect(await sessionsOf(hostile)).toEqual([s]);
      expect(await store.replaceUsers([hostile], [s], [], nextVersion())).toMatchObject({ sessionsWritten: 0 });
      const counts = await store.counts();
      expect(counts.sessions).toBeGreaterThan(0);
    });
  });
}

function session(userId: string, firstMessageId: string, startedAt: number): Session {
  return {
    sessionId: `${userId}/${firstMessageId}`,
    userId,
    anonymousIds: ['anon-b', 'anon-a'].sort(),
    startedAt,
    endedAt: startedAt + 60_000,
    eventCount: 2,
    firstEvent: 'page_viewed',
    lastEvent: 'product_added',
    firstMessageId,
    appVersions: ['2.3.0'],
    flags: ['overlong_session'],
    labels: [],
  };
}

function event(userId: string, messageId: string, sessionId: string, eventTime: number): SessionEvent {
  return { messageId, userId, anonymousId: 'anon-a', sessionId, eventTime, type: 'track', event: 'page_viewed', appVersion: '2.3.0', propertiesJson: '{"path":"/"}' };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
