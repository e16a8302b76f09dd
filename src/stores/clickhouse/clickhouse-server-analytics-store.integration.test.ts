import { getServices } from '../../../test/harness/services.js';
import { describeAnalyticsStoreConformance } from '../analytics-store.conformance.js';
import { openServerAnalytics } from './open-clickhouse.js';

// The same suite as embedded chdb, over the ClickHouse HTTP interface: one SQL source, two transports.
describeAnalyticsStoreConformance('ClickHouse over HTTP', async () =>
  openServerAnalytics({ url: getServices().clickhouse.url, database: `conformance_${process.pid}_${Date.now()}`, username: 'default', password: '' }),
);
