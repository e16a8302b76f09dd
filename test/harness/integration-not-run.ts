// Stands in for the integration tier when it is skipped (see tiers.ts): one skipped test per
// integration file, named after the file and the reason, so the skip is visible in every report.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { it } from 'vitest';
import { SKIP_REASON_ENV } from './tiers.js';

const root = join(import.meta.dirname, '..', '..');
const reason = process.env[SKIP_REASON_ENV] ?? 'not run';
const files = ['src', 'test']
  .flatMap((dir) => readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }).map((file) => join(root, dir, file)))
  .filter((file) => file.endsWith('.integration.test.ts'))
  .map((file) => relative(root, file))
  .sort();

for (const file of files) it.skip(`${file}: ${reason}`, () => {});
