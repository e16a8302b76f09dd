import { defineConfig } from 'vitest/config';

// One run covers everything: unit tests beside the code, command end-to-end tests,
// and integration tests against real Kafka, FerretDB and a chdb-served ClickHouse HTTP
// endpoint, which the global setup installs (cached) and starts.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
    // chdb binds one data directory per process: every test file gets its own process.
    pool: 'forks',
    isolate: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ['test/harness/global-setup.ts'],
  },
});
