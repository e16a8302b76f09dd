import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../config/config.js';
import type { StoredEvent } from '../domain/event.js';
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
    for (const order of [[4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 4, 0, 3, 2]]) {
      expect(sessionize('u1', order.map((index) => events[index]!))).toEqual(expected);
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
