#!/usr/bin/env node
// Seeded fixture generator: see src/generator/cli.ts (built to dist/ by `npm run build`).
let cli;
try {
  cli = await import('../dist/generator/cli.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('generator/cli.js')) {
    process.stderr.write('journeyctl-fixtures: dist/ is missing; run `npm run build` first.\n');
    process.exit(2);
  }
  throw err;
}
process.exitCode = await cli.main(process.argv.slice(2));
