import { defineConfig } from 'vitest/config';
import { integrationTier, SKIP_REASON_ENV } from './test/harness/tiers.js';

// Three tiers, one vitest project each (`vitest run --project <name>`):
//   unit         pure code beside it in src/ (no database, no service): well under a minute
//   e2e          the embedded stores (chdb, SQLite) and the commands end-to-end on temp dirs
//   integration  *.integration.test.ts against real Kafka, FerretDB and a chdb-served
//                ClickHouse HTTP endpoint, which this tier's global setup installs (cached)
//                and starts; the other tiers never start them.
// `npm test` runs all three, and requires the services (as does CI=true): see
// test/harness/tiers.ts for when the integration tier may skip instead.
const INTEGRATION = ['src/**/*.integration.test.ts', 'test/**/*.integration.test.ts'];
const EMBEDDED_STORES = 'src/stores/**';
// Unit tests that stream large inputs (the generator's 300k- and 1M-line runs: ~25 s) run with e2e,
// so the unit tier stays well under a minute.
const LARGE_INPUTS = ['tools/generator/generator.test.ts'];
const tier = integrationTier();
if (tier.skipReason && process.env[SKIP_REASON_ENV] === undefined) {
  process.env[SKIP_REASON_ENV] = tier.skipReason; // read by the placeholder file; also: print once
  process.stderr.write(`[tiers] integration tests ${tier.skipReason}\n`);
}

export default defineConfig({
  test: {
    // chdb binds one data directory per process: every test file gets its own process.
    pool: 'forks',
    isolate: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'tools/**/*.test.ts'],
          exclude: [...INTEGRATION, ...LARGE_INPUTS, `${EMBEDDED_STORES}/*.test.ts`, `${EMBEDDED_STORES}/**/*.test.ts`],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts', `${EMBEDDED_STORES}/*.test.ts`, `${EMBEDDED_STORES}/**/*.test.ts`, ...LARGE_INPUTS],
          exclude: INTEGRATION,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          ...(tier.skipReason ? { include: ['test/harness/integration-not-run.ts'] } : { include: INTEGRATION, globalSetup: ['test/harness/global-setup.ts'] }),
        },
      },
    ],
  },
});
