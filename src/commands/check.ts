import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_CHECKS_FILE } from '../checks/default-checks.js';
import { type CheckDefinition, parseChecks } from '../checks/definitions.js';
import { checkResultRecord, renderJson, renderJunit, renderTable, renderText, summaryLine } from '../checks/render.js';
import { fromArray, writeRecords } from '../render/output.js';
import { OUTPUTS, resolveOutput } from '../render/output-option.js';
import { type CheckRun, runChecks, selectChecks } from '../checks/run-checks.js';
import { ActionFailedError, UsageError } from '../errors.js';
import { createProgress } from '../render/progress.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import { openAnalyticsStore, openRawStore } from '../stores/open-stores.js';
import { formatBytes, queryCostsOf } from '../stores/ports/query-costs.js';
import type { RawStore } from '../stores/raw-store.js';
import { type CommandContext, parseDurationFlag, parseTimeRange } from './context.js';

export interface CheckOptions {
  checks?: string;
  select: string[];
  exclude: string[];
  from?: string;
  to?: string;
  tz: string;
  warnError: boolean;
  output?: string;
  junit?: string;
  results?: string;
  storeFailures: boolean;
  updateGolden: boolean;
  wait: string;
  /** Print the results (default); the demo prints only the summary. */
  quiet?: boolean;
}

/** Reads a checks file: a list of checks, or a mapping with a `checks` list (a config file works too). */
export function loadChecksFile(path: string): CheckDefinition[] {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read checks file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0]}`);
  }
  const list = Array.isArray(document) ? document : document !== null && typeof document === 'object' ? (document as Record<string, unknown>).checks : undefined;
  if (list === undefined) throw new UsageError(`checks file ${path} has no checks`, { hint: 'a checks file is a list of checks, or a mapping with a `checks:` list' });
  const { checks, errors } = parseChecks(list, dirname(path));
  if (errors.length > 0)
    throw new UsageError(errors.length === 1 ? `${path}: ${errors[0]}` : `${path} has ${errors.length} problems:\n  ${errors.join('\n  ')}`, { hint: 'see README: Data-quality checks' });
  return checks;
}

/** Neither --checks nor the config names a check: the shipped defaults (what `demo` runs), said in one line. */
function defaultChecks(context: CommandContext): CheckDefinition[] {
  context.log(`no checks configured: running the shipped default checks (${DEFAULT_CHECKS_FILE}); a \`checks:\` section in the config or --checks FILE replaces them`);
  return loadChecksFile(DEFAULT_CHECKS_FILE);
}

/** `journeyctl check`: run data-quality checks; exit 1 when an error-severity check fails. */
export async function runCheckCommand(context: CommandContext, options: CheckOptions): Promise<CheckRun> {
  const output = resolveOutput(options.output, OUTPUTS.check, context.interactive);
  const all = options.checks ? loadChecksFile(options.checks) : context.config.checks.length > 0 ? context.config.checks : defaultChecks(context);
  if (all.length === 0) throw new UsageError(`checks file ${options.checks} has no checks`, { hint: 'a checks file is a list of checks, or a mapping with a `checks:` list' });
  const { checks, unknown } = selectChecks(all, options.select, options.exclude);
  if (unknown.length > 0) throw new UsageError(`no check named ${unknown.map((u) => JSON.stringify(u)).join(', ')}`, { hint: `checks: ${all.map((c) => c.name).join(', ')}` });
  const range = parseTimeRange(options);
  const waitMs = parseDurationFlag('wait', options.wait);

  let raw: Promise<RawStore> | null = null;
  let analytics: Promise<AnalyticsStore> | null = null;
  const openRaw = () => (raw ??= openRawStore(context.config));
  const openAnalytics = () => (analytics ??= openRaw().then((r) => openAnalyticsStore(context.config, r, { command: 'journeyctl check', waitMs, log: context.log })));
  let run: CheckRun;
  const progress = createProgress(context.io.stderr, !options.quiet && context.interactive, { env: context.io.env });
  let done = 0;
  try {
    run = await runChecks(checks, {
      config: context.config,
      range,
      now: Date.now(),
      warnError: options.warnError,
      sampleSize: 10,
      configPath: context.config.source === 'defaults' ? null : context.config.source,
      updateGolden: options.updateGolden,
      childEnv: { PATH: context.io.env.PATH ?? '' },
      raw: openRaw,
      analytics: openAnalytics,
      onResult: (result) => progress.update(++done, checks.length, `${done}/${checks.length} checks; last: ${result.name} ${result.status}`),
    });
    if (options.storeFailures) {
      const rows = run.results.flatMap((r) =>
        r.status === 'pass'
          ? []
          : (r.failingRows.length ? r.failingRows : [{ message: r.message }]).map((row) => ({
              runId: run.runId,
              runAt: Date.parse(run.startedAt),
              check: r.name,
              checkType: r.type,
              status: r.status,
              row: JSON.stringify(row),
            })),
      );
      if (rows.length > 0) await (await openAnalytics()).storeCheckFailures(rows);
      context.log(`stored ${rows.length} failing row(s) of run ${run.runId} in the check_failures table`);
    }
  } finally {
    progress.finish();
    // Assigned inside the closures above, which TypeScript does not follow.
    const opened = { analytics: analytics as Promise<AnalyticsStore> | null, raw: raw as Promise<RawStore> | null };
    const store = opened.analytics ? await opened.analytics.catch(() => null) : null;
    if (store) logScanned(context, store);
    await store?.close();
    if (opened.raw) await (await opened.raw.catch(() => null))?.close();
  }
  if (options.junit) writeFileSync(options.junit, renderJunit(run));
  if (options.results) writeFileSync(options.results, renderJson(run));
  if (!options.quiet) {
    if (output === 'ndjson' || output === 'csv') await writeRecords(fromArray(run.results.map(checkResultRecord)), output, context.io.stdout, context.log);
    else context.io.stdout.write(output === 'json' ? renderJson(run) : output === 'table' ? renderTable(run, context.color) : renderText(run));
  }
  if (run.summary.fail > 0 && !options.quiet) {
    const failed = run.results.filter((r) => r.status === 'fail').map((r) => r.name);
    throw new ActionFailedError(`${failed.length} check(s) failed: ${failed.join(', ')}`, { hint: summaryLine(run) });
  }
  return run;
}

/** On an engine that bills by bytes scanned (BigQuery): what the checks' queries scan, from their dry runs. */
function logScanned(context: CommandContext, store: AnalyticsStore): void {
  const costs = queryCostsOf(store);
  if (!costs) return;
  const { queries, bytes } = costs.scanned();
  const limit = costs.maxBytesBilled === null ? 'no --max-bytes-billed limit' : `limit ${formatBytes(costs.maxBytesBilled)} per query (--max-bytes-billed)`;
  context.log(`${store.engine}: the checks' ${queries} queries scan ${formatBytes(bytes)} (${bytes} bytes, dry-run estimates; ${limit})`, {
    queries,
    bytes,
    maxBytesBilled: costs.maxBytesBilled,
  });
}
