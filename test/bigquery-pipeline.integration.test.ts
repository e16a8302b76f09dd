// The pipeline with BigQuery as its analytics store (bqemulator, started by the harness) gives the
// same results as the embedded chdb store: every export and the report, after run and after a
// reprocess that swaps day partitions in. Where the emulator differs from BigQuery: ADR 0019.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { getServices } from './harness/services.js';

const INPUT = join(import.meta.dirname, '..', 'fixtures', 'demo.ndjson');
const EXPORTS = ['events', 'sessions', 'journeys', 'labels', 'flags'] as const;

describe('run and reprocess on BigQuery', () => {
  let root: string;
  let bigquery: Record<string, string>;
  const chdb = () => ['-d', join(root, 'chdb')];
  const bq = () => ['-d', join(root, 'bigquery')];
  /** Every export and the report of one store, as a user gets them. */
  const outputs = async (dir: string[], env: Record<string, string> = {}) => {
    const out: Record<string, string> = {};
    for (const kind of EXPORTS) {
      const result = await runCli(['export', kind, ...dir], { env });
      expect(result.code, result.stderr).toBe(0);
      out[kind] = result.stdout;
    }
    out.report = (await runCli(['report', ...dir], { env })).stdout;
    return out;
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'journey-bigquery-'));
    const { bigquery: emulator } = getServices();
    bigquery = { JOURNEY_BIGQUERY_DATASET: `${emulator.project}.pipeline_${process.pid}`, BIGQUERY_EMULATOR_HOST: emulator.emulatorHost };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('migrates the dataset, and doctor finds every table', async () => {
    const first = await runCli(['migrate', ...bq()], { env: bigquery });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout + first.stderr).toMatch(/dataset journeyctl-test\.pipeline_\d+ and \d+ tables ready \(US\)/);
    expect((await runCli(['migrate', ...bq()], { env: bigquery })).code).toBe(0); // idempotent
    const doctor = await runCli(['doctor', ...bq(), '--output', 'json'], { env: bigquery });
    expect(doctor.stdout).toContain('"detail":"all present"');
    expect(doctor.stdout).toContain(`bigquery://journeyctl-test/pipeline_${process.pid}`);
  });

  // The runs and reprocesses are slow on the emulator (each BigQuery job 0.1-1 s), not timed.
  it('stores what chdb stores: identical exports and report after run', { timeout: 300_000 }, async () => {
    expect((await runCli(['run', '--input', INPUT, ...chdb()])).code).toBe(0);
    const run = await runCli(['run', '--input', INPUT, ...bq()], { env: bigquery });
    expect(run.code, run.stderr).toBe(0);
    const expected = await outputs(chdb());
    expect(expected.sessions?.split('\n').length).toBeGreaterThan(50);
    expect(await outputs(bq(), bigquery)).toEqual(expected);
  });

  it('and after a reprocess that swaps three day partitions in', { timeout: 300_000 }, async () => {
    const range = ['--from', '2026-01-05', '--to', '2026-01-08', '--yes'];
    expect((await runCli(['reprocess', ...range, ...chdb()])).code).toBe(0);
    const reprocess = await runCli(['reprocess', ...range, ...bq()], { env: bigquery });
    expect(reprocess.code, reprocess.stderr).toBe(0);
    expect(reprocess.stderr).toContain('2026-01-06 rebuilt');
    expect(await outputs(bq(), bigquery)).toEqual(await outputs(chdb()));
  });
});
