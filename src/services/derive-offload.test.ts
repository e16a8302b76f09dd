import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveConfig } from '../config/config.js';
import { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { createDeriveDirtyUsers, type DeriveSummary } from '../pipeline/derive-dirty-users.js';
import { createIngest } from '../pipeline/ingest.js';
import { createLineProcessor } from '../pipeline/line-processor.js';
import { createReprocess, type OffloadedDays } from '../pipeline/reprocess.js';
import { createSessionize } from '../pipeline/sessionize.js';
import { createFileSource } from '../sources/file-source.js';
import { type ClickHouseAnalyticsStore, createClickHouseAnalyticsStore } from '../stores/clickhouse/clickhouse-analytics-store.js';
import { openChdbClient } from '../stores/clickhouse/embedded-engine.js';
import { prepareSpoolDir } from '../stores/clickhouse/spool.js';
import { encodedWritesOf } from '../stores/ports/encoded-derivation.js';
import { SqliteRawStore } from '../stores/sqlite/sqlite-raw-store.js';
import { createDeriveOffload } from './derive-offload.js';

// The derive worker (docs/decisions/0025) reads back and derives on its own thread and SQLite
// connection; what it hands over must leave exactly the rows, profiles and counts of the
// derivation on this thread: on a first derive and on a second one over stored rows, with rounds
// cut into many reads and writes. The worker runs compiled (dist/, as the e2e tests need `npm run build`).
const WORKER = new URL('../../dist/services/derive-worker.js', import.meta.url);
const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'jc-derive-offload-'));
let client: Awaited<ReturnType<typeof openChdbClient>>;
beforeAll(async () => {
  client = await openChdbClient(join(dir, 'analytics'));
});
afterAll(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** What the offloaded derives' worker said it derived (the log the commands print). */
const workerSaid: string[] = [];

/** After the derives, before the rows are read: e.g. a reprocess of the stored days. */
type After = (stores: { raw: SqliteRawStore; analytics: ClickHouseAnalyticsStore; rawPath: string; config: ReturnType<typeof fixtureConfig> }) => Promise<void>;

function fixtureConfig() {
  const resolved = resolveConfig({ configPath: join(FIXTURES, 'journeyctl.yaml') }, {});
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  return resolved.config;
}

async function deriveInto(name: string, offloaded: boolean, inputs: string[], after?: After) {
  const config = fixtureConfig();
  const rawPath = join(dir, `${name}.sqlite`);
  const raw = SqliteRawStore.open(rawPath);
  const analytics: ClickHouseAnalyticsStore = createClickHouseAnalyticsStore(client, name, 'chdb', async () => {}, undefined, prepareSpoolDir(join(dir, 'spool')));
  await analytics.migrate();
  const derive = offloaded
    ? createDeriveOffload({
        rawPath,
        pipeline: config.pipeline,
        journeys: config.journeys,
        signals: () => ({ bursts: [], burstHits: new Map() }),
        fromUsers: 1,
        module: WORKER,
        log: (message) => workerSaid.push(message),
      })
    : null;
  if (offloaded) expect(derive).not.toBeNull();
  const summaries: DeriveSummary[] = [];
  const deriveDirtyUsers = createDeriveDirtyUsers({
    raw,
    analytics,
    sessionize: createSessionize(config.pipeline),
    deriveJourneys: createDeriveJourneys(config.journeys),
    eventsPerRead: 40,
    eventsPerWrite: 150,
    offload: derive ? { derive, writes: encodedWritesOf(analytics)! } : undefined,
  });
  try {
    for (const input of inputs) {
      const ingest = createIngest({
        raw,
        processor: createLineProcessor({ pipeline: config.pipeline, trackingPlan: config.trackingPlan }, { threads: false }),
        deriveDirtyUsers: async () => {
          const summary = await deriveDirtyUsers();
          summaries.push(summary);
          return summary;
        },
        lateAfterMs: config.pipeline.lateAfterMs,
        deriveEveryEvents: Number.POSITIVE_INFINITY,
        deriveIntervalMs: Number.POSITIVE_INFINITY,
      });
      await ingest(createFileSource({ input, batchSize: 500 }));
    }
    await after?.({ raw, analytics, rawPath, config });
    return {
      summaries,
      sessions: await collect(analytics.streamSessions({})),
      events: await collect(analytics.streamEvents({})),
      findings: await collect(analytics.streamFindings({})),
      funnelOutcomes: await collect(analytics.streamFunnelOutcomes({})),
      profiles: await collect(raw.streamProfiles()),
    };
  } finally {
    await raw.close();
  }
}

it('stores what the derivation on this thread stores, on a first derive and over stored rows', { timeout: 300_000 }, async () => {
  expect(existsSync(fileURLToPath(WORKER)), 'the compiled derive worker (run npm run build)').toBe(true);
  // The generated fixture in two parts: the second part's users are mostly already stored, so the second derive diffs.
  const lines = readFileSync(join(FIXTURES, 'generated-small.ndjson'), 'utf8').split('\n').filter(Boolean);
  const first = join(dir, 'first.ndjson');
  const second = join(dir, 'second.ndjson');
  writeFileSync(first, `${lines.filter((_, i) => i % 3 !== 0).join('\n')}\n`);
  writeFileSync(second, `${lines.filter((_, i) => i % 3 === 0).join('\n')}\n`);
  const reference = await deriveInto('reference', false, [first, second]);
  const offloaded = await deriveInto('offloaded', true, [first, second]);
  expect(offloaded).toEqual(reference);
  // The worker said so once per round: the round's users, and the chunks it derived them in.
  const said = workerSaid.map((line) => /^derive worker: derived (\d+) users in (\d+) chunk\(s\)$/.exec(line)?.slice(1).map(Number));
  expect(said).toEqual(reference.summaries.map((summary) => [summary.users, expect.any(Number)]));
  for (const [, chunks] of said as number[][]) expect(chunks).toBeGreaterThanOrEqual(1);
  // Both derives did real work: users, sessions rewritten or removed on the second.
  expect(reference.summaries).toHaveLength(2);
  expect(reference.summaries[1]!.users).toBeGreaterThan(10);
  expect(reference.summaries[1]!.sessionsWritten + reference.summaries[1]!.sessionsDeleted).toBeGreaterThan(0);
  expect(reference.sessions.length).toBeGreaterThan(50);
});

// 2026-01-08 holds no accepted event: an empty day, derived nowhere.
const DAYS = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08'];
const DAYS_WITH_USERS = DAYS.slice(0, 3);

/**
 * Reprocesses every day of the fixture (identity conflicts marked, as the fixture's config
 * limits users per anonymous id) on this thread or on the derive worker; `validatedUntil`: the
 * stored fields are trusted for that many look-ups, then the store reads as validated under
 * another config (the rest of the day is validated again on this thread).
 */
function reprocessDays(offloaded: boolean, taken: string[], validatedUntil = Number.POSITIVE_INFINITY): After {
  return async ({ raw, analytics, rawPath, config }) => {
    let asked = 0;
    const worker = offloaded
      ? createDeriveOffload({ rawPath, pipeline: config.pipeline, journeys: config.journeys, signals: () => ({ bursts: [], burstHits: new Map() }), fromUsers: 1, module: WORKER })
      : null;
    if (offloaded) expect(worker).not.toBeNull();
    const offload: OffloadedDays | undefined = worker ? { takes: worker.takes, day: (day, ...rest) => (taken.push(day), worker.day(day, ...rest)) } : undefined;
    const lineProcessor = createLineProcessor({ pipeline: config.pipeline, trackingPlan: config.trackingPlan, hashLines: false }, { threads: false });
    const reprocess = createReprocess({
      raw,
      analytics,
      lineProcessor,
      storedAsValidated: async () => (asked += 1) <= validatedUntil,
      sessionize: createSessionize(config.pipeline),
      deriveJourneys: createDeriveJourneys(config.journeys),
      lookbackMs: 30 * 60_000,
      usersPerChunk: 7,
      offload,
    });
    try {
      for (const day of DAYS) await reprocess.rebuildDay(day);
    } finally {
      await lineProcessor.close();
    }
  };
}

it('a reprocess on the derive worker stores what the reprocess on this thread stores', { timeout: 300_000 }, async () => {
  expect(existsSync(fileURLToPath(WORKER)), 'the compiled derive worker (run npm run build)').toBe(true);
  // The fixture, and a kiosk whose anonymous id logs in as five people in turn (more than the
  // default 3: every event of theirs is marked with the conflict) from 23:00 on 2026-01-06 past midnight.
  const at = (minute: number) => new Date(Date.UTC(2026, 0, 6, 23, minute)).toISOString();
  const line = (messageId: string, minute: number, userId: string, type = 'track') =>
    JSON.stringify({ type, event: type === 'identify' ? undefined : 'page_viewed', messageId, userId, anonymousId: 'kiosk', timestamp: at(minute), sentAt: at(minute), receivedAt: at(minute) });
  const kiosk = ['ann', 'ben', 'cat', 'dan', 'eve'].flatMap((user, i) => [line(`${user}-login`, 10 + i * 40, user, 'identify'), line(`${user}-view`, 11 + i * 40, user)]);
  const input = join(dir, 'with-kiosk.ndjson');
  writeFileSync(input, `${readFileSync(join(FIXTURES, 'generated-small.ndjson'), 'utf8')}${kiosk.join('\n')}\n`);
  const derived = await deriveInto('derived', false, [input]);
  const onThisThread = await deriveInto('reprocessed', false, [input], reprocessDays(false, []));
  const taken: string[] = [];
  const onTheWorker = await deriveInto('reprocessed_offloaded', false, [input], reprocessDays(true, taken));
  expect(taken).toEqual(DAYS_WITH_USERS);
  // Part way through the first day the store stops reading as validated under today's config.
  const fellBack: string[] = [];
  const fallingBack = await deriveInto('reprocessed_fallback', false, [input], reprocessDays(true, fellBack, 3));
  expect(fellBack).toEqual(DAYS_WITH_USERS);
  const rows = ({ summaries, ...stored }: typeof derived) => (expect(summaries).toHaveLength(1), stored);
  expect(rows(onTheWorker)).toEqual(rows(onThisThread));
  expect(rows(fallingBack)).toEqual(rows(onThisThread));
  // Nothing changed since the derive: a reprocess of every day gives back its rows.
  expect(rows(onThisThread)).toEqual(rows(derived));
  expect(rows(onThisThread).events.length).toBeGreaterThan(2_000);
  expect(rows(onThisThread).sessions.filter((s) => s.flags.some((flag) => flag.startsWith('identity_conflict'))).length).toBeGreaterThan(0);
});
