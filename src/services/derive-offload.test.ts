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

async function deriveInto(name: string, offloaded: boolean, inputs: string[]) {
  const resolved = resolveConfig({ configPath: join(FIXTURES, 'journeyctl.yaml') }, {});
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  const { config } = resolved;
  const rawPath = join(dir, `${name}.sqlite`);
  const raw = SqliteRawStore.open(rawPath);
  const analytics: ClickHouseAnalyticsStore = createClickHouseAnalyticsStore(client, name, 'chdb', async () => {}, undefined, prepareSpoolDir(join(dir, 'spool')));
  await analytics.migrate();
  const derive = offloaded
    ? createDeriveOffload({ rawPath, pipeline: config.pipeline, journeys: config.journeys, signals: () => ({ bursts: [], burstHits: new Map() }), fromUsers: 1, module: WORKER })
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
  // Both derives did real work: users, sessions rewritten or removed on the second.
  expect(reference.summaries).toHaveLength(2);
  expect(reference.summaries[1]!.users).toBeGreaterThan(10);
  expect(reference.summaries[1]!.sessionsWritten + reference.summaries[1]!.sessionsDeleted).toBeGreaterThan(0);
  expect(reference.sessions.length).toBeGreaterThan(50);
});
