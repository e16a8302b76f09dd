import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery, type Query } from '@google-cloud/bigquery';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../test/helpers/cli.js';
import { getServices } from '../../../test/harness/services.js';
import * as journeys from '../sql/definitions.js';
import type { QueryDefinition } from '../sql/definitions.js';
import { bigQueryReportDialect } from '../sql/dialect.js';
import * as pipeline from '../sql/pipeline.js';
import { createBigQueryContext } from './bigquery-connection.js';

// `report`, `check` and `reprocess --dry-run` on the BigQuery analytics store, against bqemulator
// (test/harness starts it), side by side with the embedded chdb store on the same input. Where the
// emulator differs from BigQuery (it estimates 0 bytes and enforces no limit):
// docs/decisions/0019-bigquery-analytics.md; the cost guard's refusals are in bigquery-cost.test.ts.
const INPUT = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'generated-clean.ndjson');
const LIMIT = 1_000_000_000;
const RANGE = ['--from', '2020-01-01', '--to', '2030-01-01'];

/** The options of every query job created in this process (the CLI runs in it). */
const jobOptions: Query[] = [];
const createQueryJob = BigQuery.prototype.createQueryJob as (this: BigQuery, options: Query | string) => ReturnType<BigQuery['createQueryJob']>;
vi.spyOn(BigQuery.prototype, 'createQueryJob').mockImplementation(function (this: BigQuery, options: Query | string) {
  jobOptions.push(typeof options === 'string' ? { query: options } : options);
  return createQueryJob.call(this, options);
} as typeof BigQuery.prototype.createQueryJob);

describe('report, check and reprocess on BigQuery (bqemulator), against chdb on the same input', () => {
  const { bigquery } = getServices();
  const env = { BIGQUERY_EMULATOR_HOST: bigquery.emulatorHost };
  const dataset = `cli_${process.pid}_${Date.now()}`;
  const bqDir = mkdtempSync(join(tmpdir(), 'jc-bq-'));
  const chDir = mkdtempSync(join(tmpdir(), 'jc-chdb-'));
  const onBigQuery = (args: string[]) => runCli([...args, '--data-dir', bqDir, '--bigquery-dataset', `${bigquery.project}.${dataset}`, '--max-bytes-billed', String(LIMIT)], { env });
  const onChdb = (args: string[]) => runCli([...args, '--data-dir', chDir]);

  beforeAll(async () => {
    for (const cli of [onBigQuery, onChdb]) {
      const run = await cli(['run', '--input', INPUT]);
      expect(run.code, run.stderr).toBe(0);
    }
    // A manual flag on both, so the stewardship figures have a correction; the next run publishes it.
    const sessions = JSON.parse((await onChdb(['export', 'sessions', '--output', 'json'])).stdout) as Array<{ session_id: string }>;
    writeFileSync(join(bqDir, 'empty.ndjson'), '');
    for (const cli of [onBigQuery, onChdb]) {
      const flagged = await cli(['flag', sessions[0]!.session_id, '--code', 'suspicious', '--reason', 'BigQuery test', '--actor', 'tester', '--yes']);
      expect(flagged.code, flagged.stderr).toBe(0);
      expect((await cli(['run', '--input', join(bqDir, 'empty.ndjson')])).code).toBe(0);
    }
  });

  it('report --output json is the same on BigQuery as on chdb', async () => {
    const [bq, ch] = [await onBigQuery(['report', '--output', 'json', ...RANGE]), await onChdb(['report', '--output', 'json', ...RANGE])];
    expect(bq.code, bq.stderr).toBe(0);
    const report = JSON.parse(bq.stdout) as { sessions: { total: number }; funnels: unknown[] };
    expect(report.sessions.total).toBeGreaterThan(0);
    expect(report.funnels.length).toBeGreaterThan(0);
    expect(report).toEqual(JSON.parse(ch.stdout));
  });

  it('check measures the same on BigQuery as on chdb, and says what its queries would scan and the limit', async () => {
    // golden_journeys derives its fixture on chdb in a child process whatever the store: nothing of BigQuery in it.
    const args = ['check', '--output', 'json', '--exclude', 'golden_journeys', ...RANGE];
    const [bq, ch] = [await onBigQuery(args), await onChdb(args)];
    expect(bq.code, bq.stderr).toBe(ch.code);
    const outcome = (stdout: string) =>
      (JSON.parse(stdout) as { results: Array<{ name: string; status: string; measured: unknown }> }).results.map(({ name, status, measured }) => ({ name, status, measured }));
    expect(outcome(bq.stdout).length).toBeGreaterThan(10);
    expect(outcome(bq.stdout).map((r) => r.name)).toContain('sessions_end_after_they_start'); // the sql check, by its bigquery_query
    expect(outcome(bq.stdout)).toEqual(outcome(ch.stdout));
    // bqemulator estimates every dry run at 0 bytes; BigQuery gives the real figure in the same line.
    expect(bq.stderr).toMatch(/bigquery: the checks' \d+ queries scan 0 B \(0 bytes, dry-run estimates; limit 953\.7 MiB per query \(--max-bytes-billed\)\)/);
    expect(ch.stderr).not.toMatch(/queries scan/);
  });

  it('reprocess --dry-run says per day and in all what rebuilding would scan on BigQuery', async () => {
    const dry = await onBigQuery(['reprocess', '--dry-run', '--from', '2026-01-05', '--to', '2026-01-07', '--output', 'table']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("Dry run: nothing was written.\nBigQuery would scan 0 B (0 bytes, dry runs of the days' partitions) to rebuild them; limit 953.7 MiB per query.");
    const json = JSON.parse((await onBigQuery(['reprocess', '--dry-run', '--from', '2026-01-05', '--to', '2026-01-07', '--output', 'json'])).stdout) as {
      days: Array<{ day: string; scanBytes?: number }>;
      scan?: unknown;
    };
    expect(json.days.map((d) => [d.day, d.scanBytes])).toEqual([
      ['2026-01-05', 0],
      ['2026-01-06', 0],
    ]);
    expect(json.scan).toEqual({ bytes: 0, maxBytesBilled: LIMIT });
    const chdb = JSON.parse((await onChdb(['reprocess', '--dry-run', '--from', '2026-01-05', '--to', '2026-01-07', '--output', 'json'])).stdout) as { scan?: unknown };
    expect(chdb.scan).toBeUndefined();
  });

  it('reprocess rebuilds the days on BigQuery as on chdb: with a shorter session gap, the same new sessions on both', async () => {
    const config = join(bqDir, 'short-gap.yaml');
    writeFileSync(config, 'pipeline:\n  session_inactivity: 2m\n');
    const sessions = async (cli: typeof onChdb) => {
      const exported = await cli(['export', 'sessions', '--output', 'json', ...RANGE]);
      expect(exported.code, exported.stderr).toBe(0);
      return (JSON.parse(exported.stdout) as Array<{ session_id: string }>).sort((a, b) => a.session_id.localeCompare(b.session_id));
    };
    const before = await sessions(onBigQuery);
    for (const cli of [onBigQuery, onChdb]) {
      const rebuilt = await cli(['-c', config, 'reprocess', '--from', '2026-01-05', '--to', '2026-01-08', '--yes', '--output', 'json']);
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
    }
    const after = await sessions(onBigQuery);
    expect(after.length).toBeGreaterThan(before.length);
    expect(after).toEqual(await sessions(onChdb));
  });

  it('runs every query job with --max-bytes-billed, dry runs included', () => {
    // The CLI runs in this process: every job any command created passed through the spy. (bqemulator
    // keeps no maximumBytesBilled in the jobs it lists, and enforces none: ADR 0019.)
    const ours = jobOptions.filter((options) => options.query?.includes(dataset));
    expect(ours.length).toBeGreaterThan(50);
    expect(ours.filter((options) => options.dryRun).length).toBeGreaterThan(10);
    expect(new Set(ours.map((options) => options.maximumBytesBilled))).toEqual(new Set([String(LIMIT)]));
  });

  it('renders every figure of the report and the dashboards for BigQuery: each runs with named parameters and gives its columns', async () => {
    const ctx = createBigQueryContext({ project: bigquery.project, dataset, location: 'US', maxBytesBilled: LIMIT, emulatorHost: bigquery.emulatorHost });
    const dialect = bigQueryReportDialect((name) => ctx.table(name));
    const context = { funnelSteps: { purchase: ['product_viewed', 'product_added', 'checkout_started', 'order_completed'] } };
    const figures = [...Object.values(journeys), ...Object.values(pipeline)].filter((value): value is QueryDefinition => typeof value === 'object' && value !== null && 'columns' in value);
    expect(figures.length).toBe(20);
    // A clean input: no rejected line and no release burst, so those two have no rows; the rest must have some.
    const emptyHere = new Set(['release_burst_regions', 'rejected_by_reason']);
    for (const figure of figures) {
      const options = { ...ctx.queryOptions(figure.sql(dialect, context), { from: 0, to: Date.UTC(2030, 0, 1), include: 1 }), dryRun: true };
      const [job] = await ctx.client.createQueryJob(options);
      const columns = (job.metadata?.statistics?.query?.schema?.fields ?? []).map((field: { name: string }) => field.name);
      // bqemulator lower-cases the alias timeEnd of this one figure (ADR 0019); BigQuery keeps it.
      expect(columns, figure.id).toEqual(figure.id === 'release_burst_regions' ? figure.columns.map((c) => c.toLowerCase()) : [...figure.columns]);
      const rows = await ctx.rows(figure.sql(dialect, context), { from: 0, to: Date.UTC(2030, 0, 1), include: 1 }, figure.id);
      if (emptyHere.has(figure.id)) expect(rows, figure.id).toEqual([]);
      else expect(rows.length, figure.id).toBeGreaterThan(0);
    }
    const steps = await ctx.rows(journeys.funnelSteps.sql(dialect, context), { from: 0, to: Date.UTC(2030, 0, 1), include: 1 }, 'funnel steps');
    expect(steps.filter((row) => row.funnel === 'purchase').map((row) => row.step_name)).toEqual(['1 product_viewed', '2 product_added', '3 checkout_started', '4 order_completed']);
  });
});
