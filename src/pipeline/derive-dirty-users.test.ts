import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { resolveConfig } from '../config/config.js';
import type { GroundTruth } from '../../tools/generator/truth.js';
import { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { openEmbeddedAnalytics } from '../stores/clickhouse/open-clickhouse.js';
import { SqliteRawStore } from '../stores/sqlite/sqlite-raw-store.js';
import { createFileSource } from '../sources/file-source.js';
import { createDeriveDirtyUsers } from './derive-dirty-users.js';
import { createIngest } from './ingest.js';
import { createLineProcessor } from './line-processor.js';
import { createSessionize } from './sessionize.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

// Reads of ~40 events and writes of ~150 cut the fixture's users into dozens of reads and
// writes, with one write always in flight while the next users are derived: every user must
// still be derived exactly once, into exactly the sessions the generator made.
it('derives every user exactly once however the round is cut into reads and writes', async () => {
  const resolved = resolveConfig({ configPath: join(FIXTURES, 'journeyctl.yaml') }, {});
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  const { config } = resolved;
  const dir = mkdtempSync(join(tmpdir(), 'jc-derive-'));
  const raw = SqliteRawStore.open(join(dir, 'raw.sqlite'));
  const analytics = await openEmbeddedAnalytics(join(dir, 'analytics'), async () => {});
  try {
    const replaced: string[] = [];
    const recordingAnalytics = Object.create(analytics, {
      replaceUsers: { value: async (...args: Parameters<typeof analytics.replaceUsers>) => (replaced.push(...args[0]), analytics.replaceUsers(...args)) },
    }) as typeof analytics;
    const derive = createDeriveDirtyUsers({
      raw,
      analytics: recordingAnalytics,
      sessionize: createSessionize(config.pipeline),
      deriveJourneys: createDeriveJourneys(config.journeys),
      eventsPerRead: 40,
      eventsPerWrite: 150,
    });
    const ingest = createIngest({
      raw,
      processor: createLineProcessor({ pipeline: config.pipeline, trackingPlan: config.trackingPlan }, { threads: false }),
      deriveDirtyUsers: derive,
      lateAfterMs: config.pipeline.lateAfterMs,
      deriveEveryEvents: Number.POSITIVE_INFINITY,
      deriveIntervalMs: Number.POSITIVE_INFINITY,
    });
    const summary = await ingest(createFileSource({ input: join(FIXTURES, 'generated-small.ndjson'), batchSize: 500 }));

    const truth = JSON.parse(readFileSync(join(FIXTURES, 'generated-small.truth.json'), 'utf8')) as GroundTruth;
    expect(new Set(replaced).size).toBe(replaced.length);
    expect(summary.derive.users).toBe(replaced.length);
    const sessions = [];
    for await (const session of analytics.streamSessions({})) sessions.push(`${session.userId} ${session.startedAt} ${session.endedAt} ${session.eventCount}`);
    const expected = truth.users.flatMap((user) => user.sessions.map((s) => `${user.canonicalId} ${Date.parse(s.startedAt)} ${Date.parse(s.endedAt)} ${s.eventCount}`));
    expect(sessions.sort()).toEqual(expected.sort());
    expect(replaced.length).toBeGreaterThan(40);
  } finally {
    await analytics.close();
    await raw.close();
  }
});
