// Every shell example in README.md, run as written (issue 13), on the embedded stores: the
// set-up commands' effect (this checkout, built, `journeyctl`/`npx journeyctl` on the PATH) and
// the demo's store, of which each block gets its own copy. Placeholders such as `<session-id>`
// are filled from the demo's store; an unknown placeholder fails the test, so a new example is
// run or marked, never skipped silently. Blocks marked `integration` run in
// test/readme-examples.integration.test.ts against the real services; blocks marked `not run`
// are listed with their reason. Extraction and running: test/helpers/readme.ts.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, blockDataDir, exportedVariables, expectOutcome, fillPlaceholders, prepareReadmeClone, README_BLOCKS, REPO, runExample, type ReadmeClone } from './helpers/readme.js';

let clone: ReadmeClone;

beforeAll(() => {
  clone = prepareReadmeClone();
});

afterAll(() => clone?.dispose());

/** New lines for a following tail to show: demo lines (accepted, and the buggy release's rejected ones) under new message ids. */
let fed = 0;
function feedInput(dataDir: string): () => Promise<void> {
  const demo = readFileSync(join(REPO, 'fixtures', 'demo.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean);
  return async () => {
    fed += 1;
    const lines = [...demo.filter((line) => line.includes('2.4.0-buggy')), ...demo.slice(-200)].map((line) => line.replace(/"messageId":"([^"]+)"/, `"messageId":"$1-fed-${fed}"`));
    const file = join(clone.work, `fed-${fed}.ndjson`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    await promisify(execFile)(process.execPath, [BIN, 'run', '--input', file, '--data-dir', dataDir], { env: { ...process.env, ...clone.env } });
  };
}

describe('README.md shell examples', () => {
  it('has examples, and says why each block it does not run is not run', () => {
    expect(README_BLOCKS.filter((block) => block.tier === 'e2e').flatMap((block) => block.examples).length).toBeGreaterThan(5);
    for (const block of README_BLOCKS.filter((candidate) => candidate.tier !== 'e2e')) {
      if (block.tier === 'not run') expect(block.notRun, `README.md:${block.line}`).not.toBe('');
      process.stderr.write(`[readme] ${block.tier === 'not run' ? `not run: ${block.notRun}` : 'run by the integration tier'}: README.md:${block.line} (${block.heading})\n`);
    }
  });

  it('the set-up block: `npx journeyctl` is this package bin (the demo ran through it) and `npm test` is a script', () => {
    const setUp = README_BLOCKS[0]!;
    expect(setUp.examples.map((example) => example.command.replace(/\s+#.*$/, ''))).toEqual(['npm install && npx journeyctl demo', 'npm test']);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(join(REPO, pkg.bin['journeyctl']!)).toBe(BIN);
    expect(pkg.scripts['test']).toMatch(/\bvitest run\b/);
  });

  for (const block of README_BLOCKS.filter((candidate) => candidate.tier === 'e2e')) {
    describe(`README.md:${block.line} (${block.heading})`, () => {
      const env: Record<string, string> = {};
      beforeAll(() => {
        Object.assign(env, clone.env, { JOURNEY_DATA_DIR: blockDataDir(clone, block) });
      });
      for (const example of block.examples) {
        it(`README.md:${example.line} ${example.command}`, async () => {
          const command = fillPlaceholders(example.command, clone.placeholders, `README.md:${example.line}`);
          const exported = exportedVariables(command);
          if (exported) return void Object.assign(env, exported);
          const result = await runExample(example, command, { cwd: clone.clone, env, feed: feedInput(env['JOURNEY_DATA_DIR']!) });
          expectOutcome(example, command, result);
        }, 300_000); // `npm run fixtures` builds first
      }
    });
  }
});
