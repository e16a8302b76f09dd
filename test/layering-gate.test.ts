// The layering gate (`npm run lint`, .dependency-cruiser.cjs) fails on what it exists to stop.
// Each case writes one probe file into the tree, cruises only that file (and what it reaches), and
// removes the probe in `finally`. The probes import types only, so a concurrent tsc emits nothing
// that runs.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..');
const DEPCRUISE = join(REPO, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function cruiseProbe(path: string, source: string): { status: number | null; output: string } {
  const file = join(REPO, path);
  writeFileSync(file, source);
  try {
    const result = spawnSync(process.execPath, [DEPCRUISE, path, '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: REPO, encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(file, { force: true });
  }
}

describe('layering gate', () => {
  it('fails on an upward import: domain importing a command', () => {
    const probe = `src/domain/layering-probe-${process.pid}.ts`;
    const { status, output } = cruiseProbe(probe, "import type { CommandContext } from '../commands/context.js';\nexport type Probe = CommandContext;\n");
    process.stderr.write(`[layering-gate] injected upward import:\n${output}\n`);
    expect(status).not.toBe(0);
    expect(output).toContain(`error upward-from-errors-domain-runtime: ${probe} → src/commands/context.ts`);
  });

  it('fails on shipped code importing a tool', () => {
    const probe = `src/pipeline/layering-probe-${process.pid}.ts`;
    const { status, output } = cruiseProbe(probe, "import type { GroundTruth } from '../../tools/generator/truth.js';\nexport type Probe = GroundTruth;\n");
    expect(status).not.toBe(0);
    expect(output).toContain(`error product-imports-tool: ${probe} → tools/generator/truth.ts`);
  });
});
