import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Finding, FunnelOutcome } from '../../domain/journey.js';
import type { Session, SessionEvent } from '../../domain/session.js';
import { type ClickHouseAnalyticsStore, createClickHouseAnalyticsStore } from './clickhouse-analytics-store.js';
import { openChdbClient } from './embedded-engine.js';
import { prepareSpoolDir } from './spool.js';

// Derived rows spooled as TSV for chdb to read (ADR 0022) and the same rows sent in the request
// (JSONCompactEachRow, servers and connected processes) read back identical, whatever the strings hold.
const dir = mkdtempSync(join(tmpdir(), 'jc-chdb-spool-'));
const spoolDir = join(dir, 'spool');
let client: Awaited<ReturnType<typeof openChdbClient>>;
let spooled: ClickHouseAnalyticsStore;
let inline: ClickHouseAnalyticsStore;
beforeAll(async () => {
  client = await openChdbClient(join(dir, 'analytics'));
  spooled = createClickHouseAnalyticsStore(client, 'spooled', 'chdb', async () => {}, undefined, prepareSpoolDir(spoolDir));
  inline = createClickHouseAnalyticsStore(client, 'inline', 'chdb', async () => {});
  await spooled.migrate();
  await inline.migrate();
});
afterAll(async () => client?.close());

const HOSTILE = ['tab\there', 'line\nbreak', 'cr\rhere', 'back\\slash', "quote ' and ''", 'nul\0byte', '\\N', '\\t literal', '[not,an,array]', "['x']", 'ünïcödé ✓ 🎉', '', ' lead and trail '];

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

function derivationOf(userId: string) {
  const sessions: Session[] = [];
  const events: SessionEvent[] = [];
  const findings: Finding[] = [];
  const funnelOutcomes: FunnelOutcome[] = [];
  HOSTILE.forEach((text, i) => {
    const startedAt = 1_700_000_000_000 + i * 3_600_000;
    const s: Session = {
      sessionId: `${userId}/${text}/${i}`,
      userId,
      anonymousIds: [text, `a-${i}`],
      startedAt,
      endedAt: startedAt + 61_001,
      eventCount: 1,
      firstEvent: text,
      lastEvent: text,
      firstMessageId: `m-${text}`,
      appVersions: i % 2 === 0 ? [] : [text],
      flags: [text],
      labels: HOSTILE,
      mode: 'gap@1',
    };
    sessions.push(s);
    events.push({
      messageId: `m-${text}-${i}`,
      userId,
      anonymousId: text,
      sessionId: s.sessionId,
      eventTime: startedAt + 7,
      type: 'track',
      event: text,
      appVersion: text,
      timeSource: 'skew_corrected',
      skewMs: -(2 ** 40) - i,
      propertiesJson: JSON.stringify({ text, nested: { text } }),
    });
    findings.push({ kind: 'label', name: `l${i}`, ruleVersion: 4_000_000_000, userId, sessionId: s.sessionId, startedAt, detail: text, evidence: [text, 'm2'] });
    funnelOutcomes.push({ scope: 'session', subjectId: s.sessionId, userId, funnel: text, startedAt, stepsReached: 3, totalSteps: 255, converted: i % 2 === 0, evidence: [text] });
  });
  return { sessions, events, findings, funnelOutcomes };
}

async function readBack(store: ClickHouseAnalyticsStore, userId: string) {
  const mine = <T extends { userId: string }>(rows: T[]) => rows.filter((row) => row.userId === userId);
  return {
    sessions: mine(await collect(store.streamSessions({}))),
    events: mine(await collect(store.streamEvents({}))),
    findings: mine(await collect(store.streamFindings({}))),
    funnelOutcomes: mine(await collect(store.streamFunnelOutcomes({}))),
  };
}

it('reads back every string exactly, spooled or in the request, and leaves no spool file', async () => {
  const derivation = derivationOf("u\t'\\");
  // An event's empty anonymous id and app version are stored as '' and read as absent (null).
  const expected = { ...derivation, events: derivation.events.map((e) => ({ ...e, anonymousId: e.anonymousId || null, appVersion: e.appVersion || null })) };
  await spooled.replaceUsers(["u\t'\\"], derivation, 1);
  await inline.replaceUsers(["u\t'\\"], derivation, 1);
  const fromSpool = await readBack(spooled, "u\t'\\");
  expect(fromSpool).toEqual(expected);
  expect(await readBack(inline, "u\t'\\")).toEqual(fromSpool);
  expect(readdirSync(spoolDir)).toEqual([]);
});

it('stages a day through the spool and swaps it in', async () => {
  const derivation = derivationOf('u-day');
  const day = new Date(derivation.sessions[0]!.startedAt).toISOString().slice(0, 10);
  const rebuild = await spooled.rebuildDay(day);
  await rebuild.stage(derivation, 2);
  const staged = await rebuild.commit();
  expect(staged.sessions).toBe(derivation.sessions.filter((s) => new Date(s.startedAt).toISOString().startsWith(day)).length);
  expect(staged.sessions).toBeGreaterThan(0);
  expect(readdirSync(spoolDir)).toEqual([]);
});

it('removes the spool file when the insert fails, and a dead process’s files when the directory is taken', async () => {
  // The rows go through the spool directory: without it the spooled store cannot write.
  rmSync(spoolDir, { recursive: true });
  await expect(spooled.replaceUsers(['u-nodir'], derivationOf('u-nodir'), 3)).rejects.toThrow(/insert into events.*ENOENT/);
  prepareSpoolDir(spoolDir);
  await expect(spooled.replaceUsers(['u-fail'], { ...derivationOf('u-fail'), events: [{ ...derivationOf('u-fail').events[0]!, skewMs: Number.NaN }] }, 3)).rejects.toThrow(/insert into events/);
  expect(readdirSync(spoolDir)).toEqual([]);
  // pid 2^22 + 1 is above Linux's pid_max: no live process has it.
  writeFileSync(join(spoolDir, `derived-${2 ** 22 + 1}-1.tsv`), 'x\n');
  writeFileSync(join(spoolDir, `derived-${process.pid}-999999.tsv`), 'x\n');
  prepareSpoolDir(spoolDir);
  expect(readdirSync(spoolDir)).toEqual([`derived-${process.pid}-999999.tsv`]);
});

/** One user's session on `day` with `n` events (a reprocess chunk's rows, many of them). */
function manyEvents(userId: string, dayStart: number, n: number, skewMs = 0) {
  const startedAt = dayStart + 1_000;
  const session: Session = {
    sessionId: `${userId}/s`,
    userId,
    anonymousIds: [],
    startedAt,
    endedAt: startedAt + n,
    eventCount: n,
    firstEvent: 'e',
    lastEvent: 'e',
    firstMessageId: `${userId}-0`,
    appVersions: [],
    flags: [],
    labels: [],
    mode: 'gap@1',
  };
  const events: SessionEvent[] = Array.from({ length: n }, (_, k) => ({
    messageId: `${userId}-${k}`,
    userId,
    anonymousId: null,
    sessionId: session.sessionId,
    eventTime: startedAt + k,
    type: 'track',
    event: 'e',
    appVersion: null,
    timeSource: 'timestamp',
    skewMs,
    propertiesJson: '{}',
  }));
  return { sessions: [session], events, findings: [], funnelOutcomes: [] };
}

it('stages a day of many chunks in INSERT_ROWS pieces (one chunk above it) and swaps in each row once; a failed INSERT fails the commit, the day untouched', async () => {
  const dayStart = Date.parse('2024-03-01T00:00:00.000Z');
  const day = '2024-03-01';
  const sizes = [9_000, 9_000, 9_000, 9_000, 9_000, 9_000, 55_000];
  const spoolFiles = readdirSync(spoolDir);
  const rebuild = await spooled.rebuildDay(day);
  for (const [i, n] of sizes.entries()) await rebuild.stage(manyEvents(`u-many-${i}`, dayStart, n), 5);
  const total = sizes.reduce((sum, n) => sum + n, 0);
  expect(await rebuild.commit()).toEqual({ sessions: sizes.length, events: total, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 });
  expect(await spooled.dayCounts(day)).toEqual({ sessions: sizes.length, events: total, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 });
  const ids = (await collect(spooled.streamEvents({ from: dayStart, to: dayStart + 86_400_000 }))).map((e) => e.messageId);
  expect(new Set(ids).size).toBe(total);

  // A NaN is no Int64: that chunk's INSERT fails, whenever it runs; the commit says so and swaps nothing in.
  const failing = await spooled.rebuildDay(day);
  await failing.stage(manyEvents('u-fine', dayStart, 10), 6);
  await failing.stage(manyEvents('u-nan', dayStart, 10, Number.NaN), 6);
  await expect(failing.commit()).rejects.toThrow(/insert into events/);
  expect(await spooled.dayCounts(day)).toEqual({ sessions: sizes.length, events: total, findings: 0, funnel_outcomes: 0, labels: 0, flags: 0 });
  expect(readdirSync(spoolDir)).toEqual(spoolFiles);
});
