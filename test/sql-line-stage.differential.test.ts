import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE } from '../src/config/config.js';
import { createProcessLine } from '../src/pipeline/process-line.js';
import { HOSTILE } from './helpers/hostile-lines.js';
import { openChdbClient } from '../src/stores/clickhouse/embedded-engine.js';
import { SQL_LINE_STAGE_COLUMNS, SQL_LINE_STAGE_SETTINGS, type SqlLineStageConfig, sqlLineStage } from '../tools/bench/sql-line-stage.js';
import { seededRandom } from './helpers/journeys.js';

// The SQL per-line stage the bench measures (tools/bench/sql-line-stage.ts, ADR 0029) against its
// oracle, the JavaScript stages: every line SQL accepts, processLine accepts with the same fields;
// the rest SQL leaves to JS. The bench's figures are for an exact implementation only while this holds.

const dir = mkdtempSync(join(tmpdir(), 'jc-sql-line-stage-'));
let client: Awaited<ReturnType<typeof openChdbClient>>;
beforeAll(async () => {
  client = await openChdbClient(join(dir, 'engine'));
});
afterAll(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ARRIVED_AT = Date.UTC(2026, 0, 8, 12);
const DEFAULTS: SqlLineStageConfig = { ...DEFAULT_PIPELINE, trackingPlan: null };

type Row = Record<(typeof SQL_LINE_STAGE_COLUMNS)[number], string | number | null> & { n: number };

/** The stage's rows for `lines`, in line order (lines travel as a file, as the spool would carry them). */
async function stage(lines: readonly Buffer[], config: SqlLineStageConfig): Promise<Row[]> {
  const file = join(dir, `lines-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])));
  const source = `(SELECT line, rowNumberInAllBlocks() AS n FROM file('${file}', LineAsString))`;
  const query = sqlLineStage(config, { source, arrivedAtMs: ARRIVED_AT, passThrough: ['n'] });
  if (query === null) throw new Error('no SQL stage for this config');
  const result = await client.query({
    query: `${query} ORDER BY n SETTINGS max_threads = 1`,
    format: 'JSONEachRow',
    clickhouse_settings: { ...SQL_LINE_STAGE_SETTINGS, output_format_json_quote_64bit_integers: 0 },
  });
  const rows = (await result.json()) as Row[];
  rmSync(file);
  expect(rows.map((row) => row.n)).toEqual(lines.map((_, index) => index));
  return rows;
}

/** What processLine makes of each line: the oracle's fields, or its reason. */
function oracle(lines: readonly Buffer[], config: SqlLineStageConfig) {
  const processLine = createProcessLine({ pipeline: config, trackingPlan: config.trackingPlan });
  return lines.map((line) => {
    const outcome = processLine(line.toString('utf8'), ARRIVED_AT);
    if (!outcome.ok) return { ok: false as const, reason: outcome.rejected.reason };
    const e = outcome.event;
    return {
      ok: true as const,
      fields: {
        message_id: e.messageId,
        type: e.type,
        event: e.event,
        user_id: e.userId,
        anonymous_id: e.anonymousId,
        previous_id: e.previousId,
        identity_key: e.identityKey,
        event_time: e.eventTime,
        time_source: e.timeSource,
        skew_ms: e.skewMs,
        received_at: e.receivedAt,
        app_version: e.appVersion,
        raw_hash: e.rawHash,
      },
    };
  });
}

/** Runs both; requires agreement on every line SQL accepts, and returns how each line went. */
async function differential(lines: readonly Buffer[], config: SqlLineStageConfig) {
  const rows = await stage(lines, config);
  const expected = oracle(lines, config);
  const verdicts = rows.map((row, index) => {
    const js = expected[index]!;
    if (row.verdict === 'accepted') {
      const { verdict: _verdict, n: _n, ...fields } = row;
      expect({ line: lines[index]!.toString('utf8').slice(0, 300), js: js.ok ? js.fields : js.reason }).toEqual({ line: lines[index]!.toString('utf8').slice(0, 300), js: fields });
    } else {
      expect(row.verdict).toBe('js');
    }
    return { sql: row.verdict as 'accepted' | 'js', jsAccepts: js.ok };
  });
  return verdicts;
}

const generatorLines = () =>
  readFileSync(join(import.meta.dirname, '../fixtures/generated-small.ndjson'))
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => Buffer.from(line));

const FIELDS = ['type', 'messageId', 'event', 'name', 'userId', 'anonymousId', 'previousId', 'timestamp', 'sentAt', 'receivedAt', 'properties', 'context', 'app.version'] as const;
const VALUES: unknown[] = [
  undefined,
  null,
  '',
  '  ',
  ' x ',
  'null',
  ' NULL ',
  'Guest',
  '[object Object]',
  0,
  42,
  -1,
  1.5,
  2 ** 53,
  2 ** 53 - 1,
  1e21,
  true,
  false,
  {},
  [],
  [1],
  'x'.repeat(256),
  'x'.repeat(257),
  'y'.repeat(512),
  'y'.repeat(513),
  'é',
  '\u00a0',
  ' \u00a0 ',
  '日本',
  'Order Completed',
  'alias',
  'page',
  'track',
  'identify',
  'screen',
  'purchase',
  'PAGE',
  '2026-01-05T10:00:00.000Z',
  '2026-01-08T11:59:59.999Z',
  '2026-02-29T10:00:00.000Z',
  '2024-02-29T23:59:59.999Z',
  '2100-02-29T00:00:00.000Z',
  '2000-02-29T00:00:00.000Z',
  '2026-04-31T00:00:00.000Z',
  '2026-13-01T00:00:00.000Z',
  '2026-00-10T00:00:00.000Z',
  '2026-01-05T24:00:00.000Z',
  '2026-01-05T23:60:00.000Z',
  '2026-01-05T23:59:60.000Z',
  '1999-12-31T23:59:59.999Z',
  '2000-01-01T00:00:00.000Z',
  '0099-01-01T00:00:00.000Z',
  '0100-01-01T00:00:00.000Z',
  '2026-01-05T10:00:00Z',
  '2026-01-05T10:00:00.000+01:00',
  '2026-01-05 10:00:00.000Z',
  '2026-01-09T10:00:00.000Z',
  '2026-01-09T11:00:00.001Z',
  '2027-01-01T00:00:00.000Z',
  '9999-12-31T23:59:59.999Z',
  '2026-01-05T10:00:00.1234Z',
  1767607200000,
  1767607200000.5,
  'yesterday',
  { a: 1 },
  { version: '1.2.3' },
];

/** `count` generator lines, each with one to three fields set to an awkward value, some also spliced as text. */
function mutatedLines(count: number, seed: number): Buffer[] {
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const base = generatorLines().flatMap((line) => {
    try {
      const value: unknown = JSON.parse(line.toString('utf8'));
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? [JSON.stringify(value)] : [];
    } catch {
      return []; // the generator's malformed lines
    }
  });
  const lines: Buffer[] = [];
  for (let index = 0; index < count; index += 1) {
    const event = JSON.parse(pick(base)) as Record<string, unknown>;
    event.messageId = `mut-${index}`;
    for (let changes = 1 + Math.floor(next() * 3); changes > 0; changes -= 1) {
      const field = pick(FIELDS);
      const value = pick(VALUES);
      if (field === 'app.version') {
        const context = (typeof event.context === 'object' && event.context !== null ? event.context : {}) as Record<string, unknown>;
        context.app = { ...(context.app as object), version: value };
        event.context = context;
      } else if (value === undefined) delete event[field];
      else event[field] = value;
    }
    let text = JSON.stringify(event);
    const splice = next();
    if (splice < 0.04) text = ` ${text}`;
    else if (splice < 0.08) text = `\ufeff${text}`;
    else if (splice < 0.12) text = `${text.slice(0, -1)},"userId":"dup-${index}"}`;
    else if (splice < 0.16) text = `${text.slice(0, -1)},"properties":{"q":"say \\"hi\\""}}`;
    else if (splice < 0.2) text = text.replace('{', '{ ');
    else if (splice < 0.24) text = `${text.slice(0, -1)},"context":{"app":{"version":"a","version":"b"}}}`;
    lines.push(Buffer.from(text));
  }
  return lines;
}

const edge = (fields: Record<string, unknown>) =>
  Buffer.from(
    JSON.stringify({
      type: 'track',
      event: 'page_viewed',
      messageId: 'edge',
      userId: 'u-1',
      timestamp: '2026-01-08T10:00:00.000Z',
      sentAt: '2026-01-08T10:00:01.000Z',
      receivedAt: '2026-01-08T10:00:02.000Z',
      properties: {},
      context: { app: { version: '1.0' } },
      ...fields,
    }),
  );

describe('SQL per-line stage', () => {
  it('agrees with the JavaScript stages on the generator output and accepts what they accept', async () => {
    const lines = generatorLines();
    const verdicts = await differential(lines, DEFAULTS);
    const jsAccepted = verdicts.filter((v) => v.jsAccepts).length;
    const sqlAccepted = verdicts.filter((v) => v.sql === 'accepted').length;
    expect(jsAccepted).toBeGreaterThan(2500);
    // The generator writes canonical times and plain ids: SQL reads all but a sliver of its accepted lines.
    expect(sqlAccepted).toBeGreaterThanOrEqual(Math.floor(jsAccepted * 0.99));
  });

  it('never accepts a hostile line', async () => {
    const verdicts = await differential(
      HOSTILE.map((kind) => kind.line),
      DEFAULTS,
    );
    expect(verdicts.map((v) => v.sql)).toEqual(HOSTILE.map(() => 'js'));
  });

  it('agrees on 6,000 mutated lines under two configurations', async () => {
    const lines = mutatedLines(6_000, 2026);
    const strict: SqlLineStageConfig = { ...DEFAULTS, futureEvents: 'reject', futureToleranceMs: 3_600_000, maxEventBytes: 900, maxNestingDepth: 4, minEventTimeMs: Date.UTC(2026, 0, 5) };
    // Floors of each outcome: the corpus reaches the accepting branches, and the deferring ones
    // (the strict config defers most lines: five openers exceed its nesting limit's fast check).
    for (const [config, acceptedFloor] of [
      [DEFAULTS, 1_000],
      [strict, 200],
    ] as const) {
      const verdicts = await differential(lines, config);
      expect(verdicts.filter((v) => v.sql === 'accepted').length).toBeGreaterThan(acceptedFloor);
      expect(verdicts.filter((v) => v.sql === 'js' && v.jsAccepts).length).toBeGreaterThan(300);
      expect(verdicts.filter((v) => !v.jsAccepts).length).toBeGreaterThan(3_000);
    }
  });

  it('reads each branch of the skew correction and the event name as JS does', async () => {
    const cases: Array<[Buffer, 'accepted' | 'js']> = [
      [edge({}), 'accepted'],
      [edge({ sentAt: null }), 'accepted'],
      [edge({ timestamp: '2026-01-08T10:00:05.000Z' }), 'accepted'], // after sentAt: client time rejected
      [edge({ timestamp: null }), 'accepted'],
      [edge({ receivedAt: undefined }), 'accepted'],
      [edge({ receivedAt: undefined, timestamp: undefined, sentAt: undefined }), 'accepted'],
      [edge({ sentAt: undefined, timestamp: '2026-01-09T12:00:00.000Z' }), 'accepted'], // clamped to receivedAt
      [edge({ receivedAt: undefined, sentAt: undefined, timestamp: '2026-01-09T12:00:00.000Z' }), 'accepted'],
      [edge({ type: 'page', event: undefined }), 'accepted'],
      [edge({ type: 'page', event: '  ', name: 'Home' }), 'accepted'],
      [edge({ type: 'identify', event: undefined, traits: { plan: 'pro' } }), 'accepted'],
      [edge({ type: 'alias', event: undefined, previousId: 'anon-1' }), 'accepted'],
      [edge({ type: 'alias', event: undefined, previousId: 'null' }), 'js'], // JS rejects: placeholder previousId
      [edge({ userId: ' Guest ', anonymousId: 'a-1' }), 'accepted'], // the placeholder is dropped, the anonymous id kept
      [edge({ userId: 'Guest', anonymousId: undefined }), 'js'],
      [edge({ userId: 42 }), 'js'],
      [edge({ event: 'Äpfel gekauft' }), 'js'],
      [edge({ timestamp: '2026-01-08T10:00:00Z' }), 'js'],
      [edge({ context: { app: { version: 3 } } }), 'js'],
      [edge({ context: 'web' }), 'accepted'],
      [edge({ properties: [] }), 'js'],
      [Buffer.concat([Buffer.from('\ufeff'), edge({})]), 'js'],
    ];
    const verdicts = await differential(
      cases.map(([line]) => line),
      DEFAULTS,
    );
    expect(verdicts.map((v) => v.sql)).toEqual(cases.map(([, verdict]) => verdict));
  });

  it('leaves every line to JS when a tracking plan is configured', () => {
    expect(sqlLineStage({ ...DEFAULTS, trackingPlan: { allowUnplanned: true, events: {} } }, { source: 't', arrivedAtMs: ARRIVED_AT })).toBeNull();
  });
});
