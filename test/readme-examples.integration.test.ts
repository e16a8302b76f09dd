// README.md's blocks marked `<!-- readme-test: integration -->`, run as written against the test
// services (Kafka 4, FerretDB as MongoDB, chdb's ClickHouse HTTP server) in place of the
// docker-compose servers the README starts: the README's addresses (localhost:9092,
// mongodb://localhost:27017/, http://localhost:8123) become the test services' addresses, and
// nothing else changes. Extraction and running are shared with the e2e README test
// (test/helpers/readme.ts).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getServices } from './harness/services.js';
import { BIN, exportedVariables, expectOutcome, fillPlaceholders, prepareReadmeClone, README_BLOCKS, runExample, type Example, type ReadmeClone, type RunOptions } from './helpers/readme.js';

let clone: ReadmeClone;
let addresses: Array<[string, string]> = [];

beforeAll(() => {
  clone = prepareReadmeClone({ demo: false });
  const { kafka4, mongo, clickhouse, pubsub, bigquery } = getServices();
  addresses = [
    ['localhost:9092', kafka4.brokers.join(',')],
    ['mongodb://localhost:27017/', mongo.url.endsWith('/') ? mongo.url : `${mongo.url}/`],
    ['http://localhost:8123', clickhouse.url.replace(/\/$/, '')],
    // "Running on GCP": the emulators, and the one project the BigQuery emulator serves.
    ['localhost:8085', pubsub.emulatorHost],
    ['localhost:9050', bigquery.emulatorHost],
    ['my-gcp-project', bigquery.project],
  ];
});

afterAll(() => clone?.dispose());

/** The README's server addresses, as the test services' addresses. */
function atTestServices(command: string): string {
  let result = command;
  for (const [readme, test] of addresses) result = result.split(readme).join(test);
  return result;
}

/** What a line that runs until stopped needs before the Ctrl-C: something to show, or proof that it works. */
function untilStoppedOptions(example: Example, command: string, env: Record<string, string>): Partial<RunOptions> & { before?: () => Promise<void> } {
  const journeyctl = (args: string[]) => promisify(execFile)(process.execPath, [BIN, ...args], { cwd: clone.clone, env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (/\btail --source kafka\b/.test(command)) {
    // A following tail starts at the end of the topic: publish the demo's lines until it shows one.
    const brokers = /--brokers (\S+)/.exec(command)?.[1] ?? env['JOURNEY_KAFKA_BROKERS']!;
    const topic = /--topic (\S+)/.exec(command)?.[1] ?? env['JOURNEY_KAFKA_TOPIC']!;
    const produce = async () => void (await journeyctl(['produce', '--input', 'events.ndjson', '--brokers', brokers, '--topic', topic, '--partitions', '3']));
    // The topic exists before the tail starts (a tail of a missing topic exits 2); it shows only what comes after.
    return { before: produce, feed: produce };
  }
  if (/\btail --source pubsub\b/.test(command)) {
    // A following tail sees what is published after its subscription exists: publish the demo's lines until it shows one.
    return { feed: async () => void (await journeyctl(['produce', '--input', 'events.ndjson'])) };
  }
  // run --source kafka: stopped once it has stored what it consumed in the raw store (MongoDB,
  // empty until this line: the services are fresh for each test run), so it is consuming.
  let stored = false;
  return {
    ready: () => stored,
    maxFeeds: 200,
    feed: async () => {
      stored = (await journeyctl(['tail', '--limit', '1', '--output', 'ndjson'])).stdout.trim() !== '';
    },
  };
}

describe('README.md shell examples on the real services', () => {
  const blocks = README_BLOCKS.filter((block) => block.tier === 'integration');
  it('has blocks for the integration tier', () => {
    expect(blocks.flatMap((block) => block.examples).length).toBeGreaterThan(5);
  });

  for (const block of blocks) {
    describe(`README.md:${block.line} (${block.heading})`, () => {
      const env: Record<string, string> = {};
      beforeAll(() => {
        Object.assign(env, clone.env, { JOURNEY_DATA_DIR: join(clone.work, `data-${block.line}`) });
      });
      for (const example of block.examples) {
        it(`README.md:${example.line} ${example.command}`, async () => {
          const command = atTestServices(fillPlaceholders(example.command, clone.placeholders, `README.md:${example.line}`));
          const exported = exportedVariables(command);
          if (exported) return void Object.assign(env, exported);
          const { before, ...extra } = example.untilStopped ? untilStoppedOptions(example, command, env) : {};
          await before?.();
          const result = await runExample(example, command, { cwd: clone.clone, env, ...extra });
          expectOutcome(example, command, result);
        }, 300_000);
      }
    });
  }
});
