// When the integration tier (real Kafka, FerretDB, ClickHouse HTTP) runs, and when it may skip.
//
// `npm test` (JOURNEY_TEST_REQUIRE_SERVICES=1) and CI (CI=true) always run it: its global setup
// installs and starts the services and fails, naming the service and its log, when it cannot.
// Anywhere else JOURNEY_TEST_SERVICES=none turns it off: its files are then reported as skipped,
// one skipped test per file whose name says why, instead of starting anything.

export interface IntegrationTier {
  /** The services must run (npm test, CI). */
  required: boolean;
  /** Why the tier is skipped, or undefined when it runs. */
  skipReason: string | undefined;
}

export function integrationTier(env: Record<string, string | undefined> = process.env): IntegrationTier {
  const required = env['JOURNEY_TEST_REQUIRE_SERVICES'] === '1' || (env['CI'] !== undefined && env['CI'] !== '' && env['CI'] !== 'false' && env['CI'] !== '0');
  const off = env['JOURNEY_TEST_SERVICES'] === 'none';
  return {
    required,
    skipReason: off && !required ? 'not run: JOURNEY_TEST_SERVICES=none (the real services are off); npm test, CI and npm run test:integration run it' : undefined,
  };
}

/** Environment variable carrying the skip reason from the config to the placeholder file. */
export const SKIP_REASON_ENV = 'JOURNEY_INTEGRATION_SKIP_REASON';
