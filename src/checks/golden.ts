import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InfrastructureError, UsageError } from '../errors.js';
import type { CheckDefinition } from '../domain/check.js';
import type { Measurement, MeasureContext } from './measure.js';

/** The parameters of a golden_journeys check (src/checks/kinds/golden-journeys.ts). */
export interface GoldenParams {
  input: string;
  expected: string;
  config: string | null;
}
type GoldenCheck = CheckDefinition<GoldenParams>;
type Snapshot = Record<'sessions' | 'findings' | 'journeys', Array<Record<string, unknown>>>;

/**
 * Where the child entry is (src/services/golden-child.ts: it ingests through the ingest service,
 * a tier above checks, so it is started by path, never imported): in the built tree once built;
 * from a source checkout (tests), the built copy.
 */
function childScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return fileURLToPath(new URL('../services/golden-child.js', import.meta.url));
  return fileURLToPath(new URL('../../dist/services/golden-child.js', import.meta.url));
}

const KEYS: Record<keyof Snapshot, (r: Record<string, unknown>) => string> = {
  sessions: (r) => String(r.session_id),
  findings: (r) => `${r.session_id} ${r.kind} ${r.name}`,
  journeys: (r) => `${r.scope} ${r.subject_id} ${r.funnel}`,
};

/**
 * golden_journeys: derive a committed fixture input in a scratch data directory with today's
 * rules and compare sessions, labels, flags and funnel outcomes with a committed expected file.
 * A changed label rule, funnel or flag threshold shows up as the records it changes.
 */
export async function runGolden(check: GoldenCheck, ctx: MeasureContext): Promise<Measurement> {
  if (!existsSync(check.input)) throw new UsageError(`check ${check.name}: input ${check.input} does not exist`);
  const actual = await deriveInChild(check, check.config ?? ctx.configPath, ctx.childEnv);
  if (ctx.updateGolden) {
    writeFileSync(check.expected, `${JSON.stringify(actual, null, 1)}\n`);
    return { unit: 'rows', groups: [{ key: '', value: 0 }], note: `expected file ${check.expected} written` };
  }
  if (!existsSync(check.expected))
    throw new UsageError(`check ${check.name}: expected file ${check.expected} does not exist`, {
      hint: 'write it with `journeyctl check --select NAME --update-golden` and review it before committing',
    });
  const expected = JSON.parse(readFileSync(check.expected, 'utf8')) as Snapshot;
  const diffs: Array<Record<string, unknown>> = [];
  for (const section of Object.keys(KEYS) as Array<keyof Snapshot>) {
    const key = KEYS[section];
    const want = new Map((expected[section] ?? []).map((r) => [key(r), r]));
    const got = new Map(actual[section].map((r) => [key(r), r]));
    for (const [k, record] of want) {
      const other = got.get(k);
      if (other === undefined) diffs.push({ section, key: k, change: 'missing', expected: record });
      else if (JSON.stringify(other) !== JSON.stringify(record)) diffs.push({ section, key: k, change: 'changed', expected: record, actual: other });
    }
    for (const [k, record] of got) if (!want.has(k)) diffs.push({ section, key: k, change: 'unexpected', actual: record });
  }
  const counts = Object.fromEntries((Object.keys(KEYS) as Array<keyof Snapshot>).map((s) => [s, actual[s].length]));
  return { unit: 'rows', groups: [{ key: '', value: diffs.length, rows: diffs.slice(0, ctx.sampleSize) }], note: `${diffs.length} record(s) differ; derived ${JSON.stringify(counts)}` };
}

function deriveInChild(check: GoldenCheck, configPath: string | null, env: Record<string, string>): Promise<Snapshot> {
  const args = [childScript(), '--input', check.input, ...(configPath ? ['--config', configPath] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', (error) => reject(new InfrastructureError(`check ${check.name}: cannot start the golden derivation: ${error.message}`)));
    child.on('close', (code) => {
      if (code === 0) return resolve(JSON.parse(out) as Snapshot);
      const message = `check ${check.name}: the golden derivation failed: ${err.trim().split('\n')[0] ?? `exit ${code}`}`;
      reject(code === 2 ? new UsageError(message) : new InfrastructureError(message));
    });
  });
}
