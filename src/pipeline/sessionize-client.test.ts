import { describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../config/config.js';
import type { StoredEvent } from '../domain/event.js';
import { attachClientSessionIds, clientSessionIdOf } from './client-session-id.js';
import { createSessionize } from './sessionize.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const t0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const client = createSessionize({ ...DEFAULT_PIPELINE, sessionMode: 'client' });
const gap = createSessionize(DEFAULT_PIPELINE);

function event(messageId: string, minutes: number, clientSessionId: string | null): StoredEvent {
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
    clientSessionId,
  };
}

const shapes = (events: StoredEvent[], sessionize = client) => sessionize('u1', events).sessions.map((s) => [s.firstMessageId, s.eventCount, s.flags]);

describe('sessionize, client mode', () => {
  it('two tabs with their own ids are two sessions where the gap sees one', () => {
    const events = [event('a1', 0, 'tab-a'), event('b1', 1, 'tab-b'), event('a2', 2, 'tab-a'), event('b2', 3, 'tab-b')];
    expect(shapes(events)).toEqual([
      ['a1', 2, []],
      ['b1', 2, []],
    ]);
    expect(shapes(events, gap)).toEqual([['a1', 4, []]]);
  });

  it('an app back from a 45-minute background keeps its id: one session where the gap cuts two', () => {
    const events = [event('x1', 0, 's1'), event('x2', 45, 's1')];
    expect(shapes(events)).toEqual([['x1', 2, []]]);
    expect(shapes(events, gap)).toHaveLength(2);
  });

  it('an id reused after more than client_session_max_gap is cut and flagged client_session_reused', () => {
    const events = [event('r1', 0, 'stuck'), event('r2', 10, 'stuck'), event('r3', 11 * 24 * 60, 'stuck')];
    expect(shapes(events)).toEqual([
      ['r1', 2, []],
      ['r3', 1, ['client_session_reused']],
    ]);
    const shorter = createSessionize({ ...DEFAULT_PIPELINE, sessionMode: 'client', clientSessionMaxGapMs: 5 * MIN });
    expect(shapes(events, shorter)).toEqual([
      ['r1', 1, []],
      ['r2', 1, ['client_session_reused']],
      ['r3', 1, ['client_session_reused']],
    ]);
  });

  it('still cuts at the 24 h maximum length (overlong_session)', () => {
    const events = Array.from({ length: 30 }, (_, i) => event(`o${String(i).padStart(2, '0')}`, i * 60, 'long'));
    const sessions = client('u1', events).sessions;
    expect(sessions.map((s) => [s.eventCount, s.flags])).toEqual([
      [24, ['overlong_session']],
      [6, []],
    ]);
  });

  it('events without a client id fall back to the inactivity gap, apart from the client sessions', () => {
    const events = [event('n1', 0, null), event('c1', 5, 'c'), event('n2', 10, null), event('n3', 100, null)];
    expect(shapes(events)).toEqual([
      ['n1', 2, []],
      ['c1', 1, []],
      ['n3', 1, []],
    ]);
  });

  it('gives the same sessions whatever order the events come in', () => {
    const events = [event('a1', 0, 'a'), event('b1', 1, 'b'), event('a2', 40, 'a'), event('n1', 3, null), event('a3', 3 * 24 * 60, 'a'), event('b2', 90, 'b')];
    const expected = client('u1', events);
    for (const order of [[5, 4, 3, 2, 1, 0], [2, 0, 4, 1, 5, 3], [1, 5, 0, 3, 2, 4]]) expect(client('u1', order.map((i) => events[i]!))).toEqual(expected);
  });

  it('gap mode ignores client ids', () => {
    const events = [event('a1', 0, 'a'), event('b1', 1, 'b')];
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
    const events = [event('m1', 0, null), event('m2', 1, null)];
    attachClientSessionIds(events, [{ raw: JSON.stringify({ messageId: 'm1', context: { sessionId: 's' } }), receivedAt: 0, copies: 1 }, { raw: '{"messageId":"m2"}', receivedAt: 0, copies: 1 }], paths);
    expect(events.map((e) => e.clientSessionId)).toEqual(['s', null]);
  });
});
