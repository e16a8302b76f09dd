import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAnalyticsStoreConformance } from '../analytics-store.conformance.js';
import { openEmbeddedAnalytics } from './open-clickhouse.js';

// Owning chdb, the store spools derived rows for the engine to read (as `run` does, ADR 0022);
// the rows-in-the-request path is held to the same strings in chdb-spooled-rows.test.ts.
describeAnalyticsStoreConformance('embedded chdb', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jc-chdb-'));
  return openEmbeddedAnalytics(join(dir, 'analytics'), async () => {}, { spoolDir: join(dir, 'spool') });
});
