import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAnalyticsStoreConformance } from '../analytics-store.conformance.js';
import { openEmbeddedAnalytics } from './open-clickhouse.js';

describeAnalyticsStoreConformance('embedded chdb', async () => openEmbeddedAnalytics(join(mkdtempSync(join(tmpdir(), 'jc-chdb-')), 'analytics'), async () => {}));
