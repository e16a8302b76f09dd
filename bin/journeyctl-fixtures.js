#!/usr/bin/env node
// Seeded fixture generator: see tools/generator/cli.ts (a dev tool, built to dist-tools/ by `npm run build:tools`).
let cli;
try {
  cli = await import('../dist-tools/tools/generator/cli.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('generator/cli.js')) {
    process.stderr.write('journeyctl-fixtures: dist-tools/ is missing; run `npm run build && npm run build:tools` first.\n');
    process.exit(2);
  }
  throw err;
}
process.exitCode = await cli.main(process.argv.slice(2));
