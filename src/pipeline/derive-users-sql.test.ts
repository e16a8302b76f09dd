import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { resolveConfig } from '../config/config.js';
import { createDeriveJourneys } from '../journeys/derive-journeys.js';
import { openEmbeddedAnalytics } from '../stores/clickhouse/open-clickhouse.js';
import { sqlDerivationOf } from '../stores/ports/sql-derivation.js';
import { SqliteRawStore } from '../stores/sqlite/sqlite-raw-store.js';
import { createFileSource } from '../sources/file-source.js';
import { compileCorrections } from '../corrections/apply-corrections.js';
import { effectiveCorrections } from '../domain/correction.js';
import { deriveUsers, loadEventsOfUsers } from './derive-users.js';
import { prepareSqlRound } from './derive-users-sql.js';
import { createIngest } from './ingest.js';
import { createLineProcessor } from './line-processor.js';
import { createSessionize } from './sessionize.js';
import { planIdentityChanges } from './stitch-identities.js';
import { sqlSessionRules } from './sql-session-rules.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

// Chunks of three users against placements of ~50 events: slices end inside chunks and chunks
// straddle two slices. Each chunk's SQL derivation must equal the JS derivation of its users.
it('a SQL round placed slice by slice derives what the JS derivation derives, chunk by chunk', async () => {
  const resolved = resolveConfig({ configPath: join(FIXTURES, 'journeyctl.yaml') }, {});
  if (!resolved.ok) throw new Error(resolved.errors.join('; '));
  const { config } = resolved;
  const dir = mkdtempSync(join(tmpdir(), 'jc-derive-sql-'));
  const raw = SqliteRawStore.open(join(dir, 'raw.sqlite'));
  const analytics = await openEmbeddedAnalytics(join(dir, 'analytics'), async () => {});
  try {
    const ingest = createIngest({
      raw,
      processor: createLineProcessor({ pipeline: config.pipeline, trackingPlan: config.trackingPlan }, { threads: false }),
      deriveDirtyUsers: async () => ({ users: 0, sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 }),
      lateAfterMs: config.pipeline.lateAfterMs,
      deriveEveryEvents: Number.POSITIVE_INFINITY,
      deriveIntervalMs: Number.POSITIVE_INFINITY,
    });
    await ingest(createFileSource({ input: join(FIXTURES, 'generated-small.ndjson'), batchSize: 500 }));
    const corrections = compileCorrections(effectiveCorrections(await raw.listCorrections()));
    const plan = await planIdentityChanges(
      (await raw.listDirtyIds(1_000_000)).map((entry) => entry.id),
      raw,
      corrections,
    );
    const users = [...plan.affectedUsers].sort();
    const inner = sqlDerivationOf(analytics)!;
    let placements = 0;
    const sql = { ...inner, place: (rules: Parameters<typeof inner.place>[0]) => ((placements += 1), inner.place(rules)) };
    const stages = { sessionize: createSessionize(config.pipeline), deriveJourneys: createDeriveJourneys(config.journeys) };
    const deriveChunk = await prepareSqlRound(
      { ...stages, raw, sql, rules: sqlSessionRules(config.pipeline), rawEvents: null, funnels: config.journeys.funnels, eventsPerPlacement: 50 },
      users,
      plan.canonical,
      corrections,
    );
    let events = 0;
    for (let start = 0; start < users.length; start += 3) {
      const chunk = users.slice(start, start + 3);
      const js = deriveUsers(stages, chunk, await loadEventsOfUsers(raw, chunk, plan.canonical, stages.sessionize), corrections);
      const fromSql = await deriveChunk(chunk);
      expect(fromSql).toEqual(js);
      events += js.derivation.events.length;
    }
    expect(users.length).toBeGreaterThan(20);
    expect(events).toBeGreaterThan(1_000);
    expect(placements).toBeGreaterThan(5);
  } finally {
    await analytics.close();
    await raw.close();
  }
}, 600_000);
