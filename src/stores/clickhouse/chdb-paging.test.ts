import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Finding, FunnelOutcome } from '../../domain/journey.js';
import type { Session, SessionEvent } from '../../domain/session.js';
import type { ClickHouseAnalyticsStore } from './clickhouse-analytics-store.js';
import { bareSession, collect } from '../../../test/helpers/streamed-sessions.js';
import { openEmbeddedAnalytics } from './open-clickhouse.js';

// Streamed ranges are read in keyset pages; with 4 rows a page, every boundary case below
// (ties on the time column, a page ending exactly at the range's end) is crossed many times.
let store: ClickHouseAnalyticsStore;
beforeAll(async () => {
  store = await openEmbeddedAnalytics(join(mkdtempSync(join(tmpdir(), 'jc-chdb-paging-')), 'analytics'), async () => {}, { streamPageRows: 4 });
});
afterAll(async () => store?.close());

const DAY = 86_400_000;

it('streams every row of a range exactly once, in order, across pages and ties', async () => {
  const sessions: Session[] = [];
  const events: SessionEvent[] = [];
  const findings: Finding[] = [];
  const outcomes: FunnelOutcome[] = [];
  // 3 users × 2 days × 3 sessions; sessions of different users start at the same instant, and each session's 3 events share one time.
  for (const user of ['u-a', 'u-b', 'u-c']) {
    for (let index = 0; index < 6; index += 1) {
      const startedAt = Math.floor(index / 3) * DAY + (index % 3) * 3_600_000;
      const session = bareSession(user, index, startedAt, 3);
      const sessionId = session.sessionId;
      sessions.push(session);
      for (let n = 0; n < 3; n += 1) {
        events.push({
          messageId: `${sessionId}/m${n}`,
          userId: user,
          anonymousId: null,
          sessionId,
          eventTime: startedAt,
          type: 'track',
          event: 'page_viewed',
          appVersion: null,
          timeSource: 'timestamp',
          skewMs: 0,
          propertiesJson: '{}',
        });
      }
      for (const name of ['label_a', 'label_b']) findings.push({ kind: 'label', name, ruleVersion: 1, userId: user, sessionId, startedAt, detail: '', evidence: [] });
      outcomes.push({ scope: 'session', subjectId: sessionId, userId: user, funnel: 'purchase', startedAt, stepsReached: 1, totalSteps: 4, converted: false, evidence: [] });
    }
  }
  await store.replaceUsers(['u-a', 'u-b', 'u-c'], { sessions, events, findings, funnelOutcomes: outcomes }, 1);

  const byTimeThen =
    <T>(time: (item: T) => number, key: (item: T) => string) =>
    (a: T, b: T) =>
      time(a) - time(b) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  const streamedEvents = await collect(store.streamEvents({}));
  expect(streamedEvents.map((e) => e.messageId)).toEqual(
    [...events]
      .sort(
        byTimeThen(
          (e) => e.eventTime,
          (e) => e.messageId,
        ),
      )
      .map((e) => e.messageId),
  );
  expect(streamedEvents).toHaveLength(54);
  expect((await collect(store.streamSessions({}))).map((s) => s.sessionId)).toEqual(
    [...sessions]
      .sort(
        byTimeThen(
          (s) => s.startedAt,
          (s) => s.sessionId,
        ),
      )
      .map((s) => s.sessionId),
  );
  expect(await collect(store.streamFindings({}))).toHaveLength(36);
  expect(new Set((await collect(store.streamFindings({}))).map((f) => `${f.sessionId} ${f.name}`)).size).toBe(36);
  expect(await collect(store.streamFunnelOutcomes({}))).toHaveLength(18);
  // A range: the first day only (24 sessions' worth of events: 3 users × 3 sessions × 3 events).
  expect(await collect(store.streamEvents({ from: 0, to: DAY }))).toHaveLength(27);
});
