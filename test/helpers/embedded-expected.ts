import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli } from './cli.js';
import { normaliseExport } from './export-normalise.js';

/**
 * The answer every server run must give: `input` ingested by the embedded default with
 * `baseConfig` (in this process: chdb binds one data directory per process, so it is the only
 * embedded store the calling file may open), each of `kinds` exported and normalised.
 */
export async function embeddedExports(options: { work: string; baseConfig: string; input: string; kinds: readonly string[]; readAfter: number }): Promise<Record<string, string>> {
  const { work, baseConfig, input, kinds, readAfter } = options;
  const dataDir = join(work, 'embedded');
  const config = join(work, 'embedded.yaml');
  writeFileSync(config, baseConfig);
  const cli = async (args: string[]) => {
    const result = await runCli(args);
    expect(result.code, `journeyctl ${args.join(' ')}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  await cli(['run', '--input', input, '--config', config, '--data-dir', dataDir, '--output', 'json']);
  const expected: Record<string, string> = {};
  for (const kind of kinds) expected[kind] = normaliseExport(kind, await cli(['export', kind, '--config', config, '--data-dir', dataDir, '--output', 'ndjson']), readAfter);
  expect(expected.sessions!.split('\n').length).toBeGreaterThan(50);
  expect(expected.rejected!.split('\n').length).toBeGreaterThan(10);
  return expected;
}
