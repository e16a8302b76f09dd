import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../config/config.js';
import type { StoredEvent } from '../domain/event.js';
import { attachClientSessionIds, clientSessionIdOf } from './client-session-id.js';
import { createSessionize, sessionIdFor } from './sessionize.js';

const MIN = 60_000;
const t0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const sessionize = createSessionize(DEFAULT_PIPELINE);

function event(messageId: string, minutes: number, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return {
    messageId,
    type: 'track',
    event: 'page_viewed',
    identityKey: 'u1',
    userId: 'u1',
    anonymousId: null,
    eventTime: t0 + minutes * MIN,
    receivedAt: t0 + minutes * MIN,
    appVersion: null,
    timeSource: 'skew_corrected',
    skewMs: 0,
    propertiesJson: '{}',
    traitsJson: '{}',
    copies: 1,
    ...overrides,
  };
}

const shapes = (events: StoredEvent[], deps = sessionize) => deps('u1', events).sessions.map((s) => [s.firstMessageId, s.eventCount, s.flags]);

describe('sessionize', () => {
  it('starts a new session only after more than 30 minutes of inactivity', () => {
    const events = [event('a', 0), event('b', 30), event('c', 60.001), event('d', 70)];
    expect(shapes(events)).toEqual([
      ['a', 2, []],
      ['c', 2, []],
    ]);
  });

  it('gives the same sessions whatever order the events come in', () => {
    const events = [event('a', 0), event('b', 10), event('c', 50), event('d', 55), event('e', 200)];
    const expected = sessionize('u1', events);
    for (const order of [
      [4, 3, 2, 1, 0],
      [2, 0, 4, 1, 3],
      [1, 4, 0, 3, 2],
    ]) {
      expect(
        sessionize(
          'u1',
          order.map((index) => events[index]!),
        ),
      ).toEqual(expected);
    }
  });

  it('merges two sessions when a late event bridges the gap', () => {
    const before = [event('a', 0), event('c', 50)];
    expect(shapes(before)).toHaveLength(2);
    expect(shapes([...before, event('b', 25)])).toEqual([['a', 3, []]]);
  });

  it('orders events with the same time by message id', () => {
    const derived = sessionize('u1', [event('z', 0), event('a', 0)]);
    expect(derived.events.map((e) => e.messageId)).toEqual(['a', 'z']);
    expect(derived.sessions[0]!.firstMessageId).toBe('a');
  });

  it('cuts at the maximum length and flags the cut session rather than dropping anything', () => {
    const everyTenMinutes = Array.from({ length: 6 * 30 }, (_, index) => event(`m${String(index).padStart(3, '0')}`, index * 10));
    const derived = sessionize('u1', everyTenMinutes);
    expect(derived.sessions.map((s) => s.eventCount)).toEqual([144, 36]);
    expect(derived.sessions[0]!.flags).toEqual(['overlong_session']);
    expect(derived.sessions[1]!.flags).toEqual([]);
    expect(derived.events).toHaveLength(180);
  });

  it('splits at midnight only when configured, in the configured zone', () => {
    const lateEvening = [event('a', 12 * 60 + 50), event('b', 13 * 60 + 10)]; // 23:50 and 00:10 in Berlin (UTC+1)
    expect(shapes(lateEvening)).toHaveLength(1);
    const split = createSessionize({ ...DEFAULT_PIPELINE, splitAtMidnight: true, timezone: 'Europe/Berlin' });
    expect(shapes(lateEvening, split)).toHaveLength(2);
    const splitUtc = createSessionize({ ...DEFAULT_PIPELINE, splitAtMidnight: true });
    expect(shapes(lateEvening, splitUtc)).toHaveLength(1);
  });

  it('leaves identify and alias calls out of sessions', () => {
    const derived = sessionize('u1', [event('a', 0), event('b', 1, { type: 'identify', event: 'identify' }), event('c', 2)]);
    expect(derived.sessions[0]!.eventCount).toBe(2);
  });

  it('derives session ids from user and first event only', () => {
    const derived = sessionize('u1', [event('a', 0), event('b', 5)]);
    expect(derived.sessions[0]!.sessionId).toBe(sessionIdFor('u1', 'a'));
    expect(sessionIdFor('u1', 'a')).not.toBe(sessionIdFor('u2', 'a'));
    expect(derived.events.every((e) => e.sessionId === derived.sessions[0]!.sessionId)).toBe(true);
  });

  it('collects anonymous ids and app versions of the session, sorted', () => {
    const derived = sessionize('u1', [event('a', 0, { anonymousId: 'z-anon', appVersion: '2.0' }), event('b', 1, { anonymousId: 'a-anon', appVersion: '1.9' })]);
    expect(derived.sessions[0]).toMatchObject({ anonymousIds: ['a-anon', 'z-anon'], appVersions: ['1.9', '2.0'] });
  });
});

const client = createSessionize({ ...DEFAULT_PIPELINE, sessionMode: 'client' });
const gap = sessionize;
const cevent = (messageId: string, minutes: number, clientSessionId: string | null) => event(messageId, minutes, { clientSessionId });

const clientShapes = (events: StoredEvent[], deps = client) => shapes(events, deps);

describe('sessionize, client mode', () => {
  it('two tabs with their own ids are two sessions where the gap sees one', () => {
    const events = [cevent('a1', 0, 'tab-a'), cevent('b1', 1, 'tab-b'), cevent('a2', 2, 'tab-a'), cevent('b2', 3, 'tab-b')];
    expect(clientShapes(events)).toEqual([
      ['a1', 2, []],
      ['b1', 2, []],
    ]);
    expect(shapes(events, gap)).toEqual([['a1', 4, []]]);
  });

  it('an app back from a 45-minute background keeps its id: one session where the gap cuts two', () => {
    const events = [cevent('x1', 0, 's1'), cevent('x2', 45, 's1')];
    expect(clientShapes(events)).toEqual([['x1', 2, []]]);
    expect(shapes(events, gap)).toHaveLength(2);
  });

  it('an id reused after more than client_session_max_gap is cut and flagged client_session_reused', () => {
    const events = [cevent('r1', 0, 'stuck'), cevent('r2', 10, 'stuck'), cevent('r3', 11 * 24 * 60, 'stuck')];
    expect(clientShapes(events)).toEqual([
      ['r1', 2, []],
      ['r3', 1, ['client_session_reused']],
    ]);
    const shorter = createSessionize({ ...DEFAULT_PIPELINE, sessionMode: 'client', clientSessionMaxGapMs: 5 * MIN });
    expect(clientShapes(events, shorter)).toEqual([
      ['r1', 1, []],
      ['r2', 1, ['client_session_reused']],
      ['r3', 1, ['client_session_reused']],
    ]);
  });

  it('still cuts at the 24 h maximum length (overlong_session)', () => {
    const events = Array.from({ length: 30 }, (_, i) => cevent(`o${String(i).padStart(2, '0')}`, i * 60, 'long'));
    const sessions = client('u1', events).sessions;
    expect(sessions.map((s) => [s.eventCount, s.flags])).toEqual([
      [24, ['overlong_session']],
      [6, []],
    ]);
  });

  it('events without a client id fall back to the inactivity gap, apart from the client sessions', () => {
    const events = [cevent('n1', 0, null), cevent('c1', 5, 'c'), cevent('n2', 10, null), cevent('n3', 100, null)];
    expect(clientShapes(events)).toEqual([
      ['n1', 2, []],
      ['c1', 1, []],
      ['n3', 1, []],
    ]);
  });

  it('gives the same sessions whatever order the events come in', () => {
    const events = [cevent('a1', 0, 'a'), cevent('b1', 1, 'b'), cevent('a2', 40, 'a'), cevent('n1', 3, null), cevent('a3', 3 * 24 * 60, 'a'), cevent('b2', 90, 'b')];
    const expected = client('u1', events);
    for (const order of [
      [5, 4, 3, 2, 1, 0],
      [2, 0, 4, 1, 5, 3],
      [1, 5, 0, 3, 2, 4],
    ])
      expect(
        client(
          'u1',
          order.map((i) => events[i]!),
        ),
      ).toEqual(expected);
  });

  it('gap mode ignores client ids', () => {
    const events = [cevent('a1', 0, 'a'), cevent('b1', 1, 'b')];
    expect(shapes(events, gap)).toEqual([['a1', 2, []]]);
    expect(gap.clientSessionIdPaths).toBeNull();
    expect(gap('u1', events).sessions[0]!.mode).toBe('gap@1');
    expect(client('u1', events).sessions[0]!.mode).toBe('client@1');
    expect(client.clientSessionIdPaths).toEqual(DEFAULT_PIPELINE.clientSessionIdPaths);
  });
});

describe('client session ids', () => {
  const paths = DEFAULT_PIPELINE.clientSessionIdPaths;
  it('reads the first configured path present: Segment context, properties, Amplitude integration (a number)', () => {
    expect(clientSessionIdOf({ context: { sessionId: 'ctx' }, properties: { session_id: 'prop' } }, paths)).toBe('ctx');
    expect(clientSessionIdOf({ properties: { session_id: 'prop' } }, paths)).toBe('prop');
    expect(clientSessionIdOf({ integrations: { Amplitude: { session_id: 1767607200000 } } }, paths)).toBe('1767607200000');
    expect(clientSessionIdOf({ context: { sessionId: '' }, properties: { session_id: ['x'] } }, paths)).toBeNull();
    expect(clientSessionIdOf({ properties: { ga_session_id: 42 } }, ['properties.ga_session_id'])).toBe('42');
  });

  it('attaches ids to events by message id from their stored lines', () => {
    const events = [cevent('m1', 0, null), cevent('m2', 1, null)];
    attachClientSessionIds(
      events,
      [
        { raw: JSON.stringify({ messageId: 'm1', context: { sessionId: 's' } }), receivedAt: 0, copies: 1 },
        { raw: '{"messageId":"m2"}', receivedAt: 0, copies: 1 },
      ],
      paths,
    );
    expect(events.map((e) => e.clientSessionId)).toEqual(['s', null]);
  });
});
