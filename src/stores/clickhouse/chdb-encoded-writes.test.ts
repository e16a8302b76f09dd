import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Finding, FunnelOutcome } from '../../domain/journey.js';
import type { Session, SessionEvent } from '../../domain/session.js';
import type { UserDerivation } from '../ports/derived-writes.js';
import { appendEncoded, emptyEncoded, encodedWritesOf } from '../ports/encoded-derivation.js';
import { type ClickHouseAnalyticsStore, createClickHouseAnalyticsStore } from './clickhouse-analytics-store.js';
import { encodeDerivation } from './clickhouse-derived-writes.js';
import { openChdbClient } from './embedded-engine.js';
import { prepareSpoolDir } from './spool.js';

// A derivation encoded elsewhere (a worker thread, docs/decisions/0025) and written with
// replaceEncodedUsers must leave exactly what replaceUsers leaves, and report the same counts:
// on a first write, on a rewrite with rows changed, kept and gone, and for hostile strings.
const dir = mkdtempSync(join(tmpdir(), 'jc-chdb-encoded-'));
let client: Awaited<ReturnType<typeof openChdbClient>>;
let objects: ClickHouseAnalyticsStore;
let encoded: ClickHouseAnalyticsStore;
beforeAll(async () => {
  client = await openChdbClient(join(dir, 'analytics'));
  objects = createClickHouseAnalyticsStore(client, 'objects', 'chdb', async () => {}, undefined, prepareSpoolDir(join(dir, 'spool')));
  encoded = createClickHouseAnalyticsStore(client, 'encoded', 'chdb', async () => {}, undefined, prepareSpoolDir(join(dir, 'spool')));
  await objects.migrate();
  await encoded.migrate();
});
afterAll(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

const HOSTILE = ['tab\there', 'line\nbreak', 'cr\rhere', 'back\\slash', "quote ' and ''", 'nul\0byte', '\\N', '[not,an,array]', "['x']", 'ünïcödé ✓ 🎉', '', ' lead '];

/** Sessions of one user, one per text; `variant` changes some rows' content (not their keys) and how many there are. */
function derivationOf(userId: string, variant: number, count = HOSTILE.length): UserDerivation {
  const sessions: Session[] = [];
  const events: SessionEvent[] = [];
  const findings: Finding[] = [];
  const funnelOutcomes: FunnelOutcome[] = [];
  HOSTILE.slice(0, count).forEach((text, i) => {
    const startedAt = 1_700_000_000_000 + i * 3_600_000;
    const changed = variant > 0 && i % 3 === 0;
    const s: Session = {
      sessionId: `${userId}/${text}/${i}`,
      userId,
      anonymousIds: [text, `a-${i}`],
      startedAt,
      endedAt: startedAt + 61_001 + (changed ? 5 : 0),
      eventCount: 1,
      firstEvent: text,
      lastEvent: text,
      firstMessageId: `m-${text}`,
      appVersions: i % 2 === 0 ? [] : [text],
      flags: changed || i === 4 ? ['bot_like'] : [],
      labels: HOSTILE.slice(0, i),
      mode: 'gap@1',
    };
    sessions.push(s);
    events.push({
      messageId: `m-${text}-${i}`,
      userId,
      anonymousId: i % 2 === 0 ? null : text,
      sessionId: s.sessionId,
      eventTime: startedAt + 7,
      type: 'track',
      event: text,
      appVersion: i % 2 === 0 ? null : text,
      timeSource: 'skew_corrected',
      skewMs: -(2 ** 40) - i,
      propertiesJson: JSON.stringify({ text, changed }),
    });
    findings.push({ kind: 'label', name: `l${i}`, ruleVersion: changed ? 2 : 1, userId, sessionId: s.sessionId, startedAt, detail: text, evidence: [text, 'm2'] });
    funnelOutcomes.push({ scope: 'session', subjectId: s.sessionId, userId, funnel: text, startedAt, stepsReached: 3, totalSteps: 255, converted: i % 2 === 0, evidence: [text] });
    funnelOutcomes.push({ scope: 'user', subjectId: userId, userId, funnel: `${text}-u`, startedAt, stepsReached: 1, totalSteps: 2, converted: false, evidence: [] });
  });
  return { sessions, events, findings, funnelOutcomes };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

async function everything(store: ClickHouseAnalyticsStore) {
  return {
    sessions: await collect(store.streamSessions({})),
    events: await collect(store.streamEvents({})),
    findings: await collect(store.streamFindings({})),
    funnelOutcomes: await collect(store.streamFunnelOutcomes({})),
    counts: await store.dayCounts('2023-11-14'),
  };
}

/** Two users' derivations encoded separately and appended, as chunks from a worker are grouped. */
function encodedOf(a: UserDerivation, b: UserDerivation) {
  const group = emptyEncoded();
  appendEncoded(group, encodeDerivation(a));
  appendEncoded(group, encodeDerivation(b));
  return group;
}

it('writes, rewrites and tombstones exactly as replaceUsers does, whatever the strings hold', async () => {
  const writes = encodedWritesOf(encoded);
  expect(writes?.encoding).toBe('clickhouse-tsv');
  const users = ["u\t'\\", 'u-2'];
  const rounds: Array<[UserDerivation, UserDerivation]> = [
    [derivationOf(users[0]!, 0), derivationOf(users[1]!, 0)],
    // Changed content under the same keys, rows gone (fewer sessions), the second user unchanged.
    [derivationOf(users[0]!, 1, 7), derivationOf(users[1]!, 0)],
    // Everything of the first user gone, the second user's rows changed.
    [derivationOf(users[0]!, 1, 0), derivationOf(users[1]!, 1)],
  ];
  let version = 1;
  for (const [a, b] of rounds) {
    version += 1;
    const both: UserDerivation = {
      sessions: [...a.sessions, ...b.sessions],
      events: [...a.events, ...b.events],
      findings: [...a.findings, ...b.findings],
      funnelOutcomes: [...a.funnelOutcomes, ...b.funnelOutcomes],
    };
    const expected = await objects.replaceUsers(users, both, version);
    expect(await writes!.replaceEncodedUsers(users, encodedOf(a, b), version)).toEqual(expected);
    expect(await everything(encoded)).toEqual(await everything(objects));
  }
  // The rounds did write, rewrite and delete.
  expect((await everything(objects)).sessions.length).toBe(HOSTILE.length);
  expect(readdirSync(join(dir, 'spool'))).toEqual([]);
});

it('reports unchanged rows as not written on a rewrite of the same derivation', async () => {
  const derivation = derivationOf('u-same', 1);
  await encodedWritesOf(encoded)!.replaceEncodedUsers(['u-same'], encodeDerivation(derivation), 10);
  const again = await encodedWritesOf(encoded)!.replaceEncodedUsers(['u-same'], encodeDerivation(derivation), 11);
  expect(again).toEqual({ events: { written: 0, deleted: 0 }, findings: { written: 0, deleted: 0 }, funnel_outcomes: { written: 0, deleted: 0 }, sessions: { written: 0, deleted: 0 } });
});

it('has no encoded writes where rows travel in the request (no spool directory)', () => {
  expect(encodedWritesOf(createClickHouseAnalyticsStore(client, 'inline', 'chdb', async () => {}))).toBeUndefined();
});
