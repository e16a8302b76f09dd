import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Session } from '../../domain/session.js';
import { bareSession, collect } from '../../../test/helpers/streamed-sessions.js';
import { openEmbeddedAnalytics } from './open-clickhouse.js';

// A stream's first page is 1,000 rows, so its first rows come before the whole range is sorted
// and encoded (ADR 0016); the pages after it are streamPageRows. Its own file: chdb binds one
// directory per process, and chdb-paging.test.ts holds one with 4-row pages.

it('streams across a first page smaller than the rest (1,000 rows, then pages of streamPageRows)', async () => {
  const store = await openEmbeddedAnalytics(join(mkdtempSync(join(tmpdir(), 'jc-chdb-paging-')), 'analytics'), async () => {}, { streamPageRows: 2_500 });
  try {
    // 2,100 sessions, 3 users starting at each instant: the first page (1,000 rows) ends inside a tie.
    const users = ['u-a', 'u-b', 'u-c'];
    const sessions: Session[] = [];
    for (let index = 0; index < 700; index += 1) {
      for (const user of users) sessions.push(bareSession(user, index, index * 60_000, 1));
    }
    await store.replaceUsers(users, { sessions, events: [], findings: [], funnelOutcomes: [] }, 1);
    const expected = [...sessions].sort((a, b) => a.startedAt - b.startedAt || (a.sessionId < b.sessionId ? -1 : 1)).map((s) => s.sessionId);
    expect((await collect(store.streamSessions({}))).map((s) => s.sessionId)).toEqual(expected);
    expect((await collect(store.streamSessions({}, { limit: 1_500 }))).map((s) => s.sessionId)).toEqual(expected.slice(0, 1_500));
  } finally {
    await store.close();
  }
});
