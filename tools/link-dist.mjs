// After `tsc -p tsconfig.tools.json`: the tools import ../../src/…, which tsc compiled a second
// time under dist-tools/src/. Point that path at dist/ instead, so a benchmark measures the shipped
// build and paths computed from a module's own location (fixtures/, golden-child.js) stay right.
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

// The package root npm runs the script in, not this file's location: a checkout whose tools/ is a
// link to another checkout's (the README test's temp copy) must link its own dist-tools/.
const root = process.cwd();
if (!existsSync(join(root, 'dist', 'cli.js'))) {
  process.stderr.write('build:tools: dist/ is missing; run `npm run build` first.\n');
  process.exit(2);
}
const copy = join(root, 'dist-tools', 'src');
rmSync(copy, { recursive: true, force: true });
symlinkSync(join('..', 'dist'), copy, 'dir');
