import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runExport } from './export.js';
import { formatSummaryText, runIngest } from './run.js';
import type { CommandContext } from './context.js';

export const DEMO_FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'demo.ndjson');

/** `journeyctl demo`: the whole job on shipped fixtures, in a fresh data directory, with nothing else installed. */
export async function runDemo(context: CommandContext, options: { keep: boolean; dataDirFlag: string | undefined }): Promise<void> {
  const dataDir = options.dataDirFlag ?? mkdtempSync(join(tmpdir(), 'journeyctl-demo-'));
  const demoContext: CommandContext = { ...context, config: { ...context.config, dataDir } };
  context.log(`demo: ingesting ${DEMO_FIXTURE} into ${dataDir}`);
  const summary = await runIngest(demoContext, { input: DEMO_FIXTURE, wait: '0s', progress: true }, 'journeyctl demo');
  context.io.stdout.write(`\n${formatSummaryText(summary)}\nFirst sessions:\n`);
  await runExport(demoContext, 'sessions', { tz: 'UTC', output: 'table', wait: '0s' });
  if (options.keep || options.dataDirFlag) {
    context.io.stdout.write(`\nData kept in ${dataDir}. Try:\n  journeyctl export sessions --data-dir ${dataDir} --output ndjson\n  journeyctl export rejected --data-dir ${dataDir}\n`);
  } else {
    rmSync(dataDir, { recursive: true, force: true });
    context.io.stdout.write('\n(demo data removed; pass --keep to keep it)\n');
  }
}
