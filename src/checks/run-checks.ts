import { randomUUID } from 'node:crypto';
import type { JourneyConfig } from '../config/config.js';
import type { AnalyticsStore } from '../stores/analytics-store.js';
import type { RawStore, ReceivedCounts } from '../stores/raw-store.js';
import type { Bound, CheckDefinition } from '../domain/check.js';
import { UsageError } from '../errors.js';
import type { CheckRegistry } from './kinds/kind.js';
import { CHECK_KINDS } from './kinds/registry.js';
import type { Group, Measurement, MeasureContext, Unit } from './measure.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  type: string;
  tags: string[];
  severity: 'warn' | 'error';
  status: CheckStatus;
  /** The value of the worst group (null when nothing could be measured). */
  measured: number | null;
  unit: Unit;
  /** The thresholds, as people read them. */
  threshold: string;
  /** One line: what was measured and why it passed or failed. */
  message: string;
  groups: { measured: number; failing: number };
  /** Up to sampleSize rows explaining a warn or fail. */
  failingRows: Array<Record<string, unknown>>;
  durationMs: number;
}

export interface CheckRun {
  runId: string;
  startedAt: string;
  range: { from: string | null; to: string | null };
  results: CheckResult[];
  summary: { total: number; pass: number; warn: number; fail: number; durationMs: number };
}

export interface RunChecksOptions {
  config: JourneyConfig;
  range: { from?: number; to?: number };
  now: number;
  warnError: boolean;
  sampleSize: number;
  configPath: string | null;
  updateGolden: boolean;
  childEnv: Record<string, string>;
  raw(): Promise<RawStore>;
  analytics(): Promise<AnalyticsStore>;
  onResult?: (result: CheckResult) => void;
  /** The check types (default: the shipped ones). */
  registry?: CheckRegistry;
}

/** Which checks `--select` / `--exclude` pick: a name, or `tag:TAG`. Unknown names are an error. */
export function selectChecks(checks: readonly CheckDefinition[], select: readonly string[], exclude: readonly string[]): { checks: CheckDefinition[]; unknown: string[] } {
  const matches = (check: CheckDefinition, selector: string) => (selector.startsWith('tag:') ? check.tags.includes(selector.slice(4)) : check.name === selector || check.type === selector);
  const unknown = [...select, ...exclude].filter((s) => !s.startsWith('tag:') && !checks.some((c) => matches(c, s)));
  const chosen = checks.filter((c) => (select.length === 0 || select.some((s) => matches(c, s))) && !exclude.some((s) => matches(c, s)));
  return { checks: chosen, unknown };
}

/**
 * Runs the checks one after another (golden derivations start first: they run in child
 * processes meanwhile). An infrastructure failure stops the run (exit 3); a check whose
 * definition turns out wrong at run time (bad SQL, unknown funnel) stops it with exit 2.
 */
export async function runChecks(checks: readonly CheckDefinition[], options: RunChecksOptions): Promise<CheckRun> {
  const started = Date.now();
  // Rate checks share one pass over the raw store's events per range.
  const received = new Map<string, Promise<ReceivedCounts[]>>();
  const ctx: MeasureContext = {
    config: options.config,
    range: options.range,
    asOf: options.range.to ?? options.now,
    sampleSize: options.sampleSize,
    raw: options.raw,
    analytics: options.analytics,
    receivedPerDay: (range) => {
      const key = `${range.from ?? ''}..${range.to ?? ''}`;
      let rows = received.get(key);
      if (!rows) received.set(key, (rows = options.raw().then((raw) => raw.receivedCounts(range, { bucketMs: 86_400_000, lateAfterMs: options.config.pipeline.lateAfterMs }))));
      return rows;
    },
    configPath: options.configPath,
    updateGolden: options.updateGolden,
    childEnv: options.childEnv,
  };
  const registry = options.registry ?? CHECK_KINDS;
  const timed = (check: CheckDefinition) => {
    const begin = performance.now();
    return measure(check, ctx, registry).then((m) => ({ m, ms: performance.now() - begin }));
  };
  const early = new Map(checks.filter((c) => registry.get(c.type)?.startEarly).map((c) => [c.name, timed(c)]));
  for (const pending of early.values()) pending.catch(() => {}); // awaited below, in order
  const results: CheckResult[] = [];
  for (const check of checks) {
    const { m, ms } = await (early.get(check.name) ?? timed(check));
    const result = evaluate(check, m.unit, m.groups, m.failure, m.note, { ...options, registry });
    result.durationMs = Math.round(ms);
    results.push(result);
    options.onResult?.(result);
  }
  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length;
  return {
    runId: randomUUID(),
    startedAt: new Date(started).toISOString(),
    range: { from: options.range.from === undefined ? null : new Date(options.range.from).toISOString(), to: options.range.to === undefined ? null : new Date(options.range.to).toISOString() },
    results,
    summary: { total: results.length, pass: count('pass'), warn: count('warn'), fail: count('fail'), durationMs: Date.now() - started },
  };
}

/** Measures a check with its type's own `measure` (src/checks/kinds/). */
export async function measure(check: CheckDefinition, ctx: MeasureContext, registry: CheckRegistry = CHECK_KINDS): Promise<Measurement> {
  const kind = registry.get(check.type);
  if (!kind) throw new UsageError(`check ${check.name}: no check type ${check.type} (known: ${registry.types().join(', ')})`);
  return kind.measure(check, ctx);
}

function breaches(bound: Bound | undefined, value: number): boolean {
  if (!bound) return false;
  return (bound.above !== undefined && value > bound.above) || (bound.below !== undefined && value < bound.below);
}

const RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, fail: 2 };

export function evaluate(
  check: CheckDefinition,
  unit: Unit,
  groups: readonly Group[],
  failure: string | undefined,
  note: string | undefined,
  options: Pick<RunChecksOptions, 'warnError' | 'sampleSize' | 'registry'>,
): CheckResult {
  const failLevel: CheckStatus = check.severity === 'error' ? 'fail' : 'warn';
  const promote = (status: CheckStatus): CheckStatus => (status === 'warn' && options.warnError ? 'fail' : status);
  let status: CheckStatus = 'pass';
  let worst: Group | null = null;
  let worstStatus: CheckStatus = 'pass';
  const failingRows: Array<Record<string, unknown>> = [];
  let measured = 0;
  let failing = 0;
  for (const group of groups) {
    if (group.value === null) continue;
    measured += 1;
    const level: CheckStatus = breaches(check.errorIf, group.value) ? failLevel : breaches(check.warnIf, group.value) ? 'warn' : 'pass';
    if (level !== 'pass') {
      failing += 1;
      for (const row of group.rows?.length ? group.rows : [{}])
        if (failingRows.length < options.sampleSize) failingRows.push({ ...(group.key ? { group: group.key } : {}), measured: group.value, ...row });
    }
    if (worst === null || RANK[level] > RANK[worstStatus] || (RANK[level] === RANK[worstStatus] && distance(check, group.value) > distance(check, worst.value!))) {
      worst = group;
      worstStatus = level;
    }
  }
  status = worstStatus;
  if (failure) status = failLevel;
  status = promote(status);
  const threshold = describeThresholds(check, unit);
  const value = worst?.value ?? null;
  const where = worst?.key ? ` (${worst.key})` : '';
  let message: string;
  if (failure) message = failure;
  else if (value === null) message = `nothing to measure${groups[0]?.note ? `: ${groups[0].note}` : ''}`;
  else if (groups.length > 1) message = `${failing} of ${measured} ${groupNoun(check, options.registry ?? CHECK_KINDS)} outside thresholds; worst ${formatValue(value, unit)}${where}`;
  else message = `${formatValue(value, unit)}${where}`;
  if (note) message += `; ${note}`;
  if (status !== 'pass' && options.warnError && worstStatus === 'warn') message += ' (warning treated as error: --warn-error)';
  return {
    name: check.name,
    type: check.type,
    tags: check.tags,
    severity: check.severity,
    status,
    measured: value,
    unit,
    threshold,
    message,
    groups: { measured, failing },
    failingRows: status === 'pass' ? [] : failingRows,
    durationMs: 0,
  };
}

function groupNoun(check: CheckDefinition, registry: CheckRegistry): string {
  const noun = registry.get(check.type)?.groupNoun;
  if (noun) return noun;
  if ('by' in check && check.by === 'app_version') return 'app versions';
  return 'groups';
}

/** How far past the thresholds a value is, to pick the group to show. */
function distance(check: CheckDefinition, value: number): number {
  const bounds = [check.errorIf, check.warnIf].filter((b): b is Bound => b !== undefined);
  let d = 0;
  for (const b of bounds) {
    if (b.above !== undefined) d = Math.max(d, value - b.above);
    if (b.below !== undefined) d = Math.max(d, b.below - value);
  }
  return d;
}

export function describeThresholds(check: CheckDefinition, unit: Unit): string {
  const side = (b: Bound) => [b.above !== undefined ? `> ${formatValue(b.above, unit)}` : null, b.below !== undefined ? `< ${formatValue(b.below, unit)}` : null].filter(Boolean).join(' or ');
  const parts = [check.errorIf ? `${check.severity === 'error' ? 'error' : 'warn'} if ${side(check.errorIf)}` : null, check.warnIf ? `warn if ${side(check.warnIf)}` : null].filter(Boolean);
  return parts.join('; ');
}

export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case 'share':
      return `${(value * 100).toFixed(value !== 0 && Math.abs(value) < 0.1 ? 2 : 1)}%`;
    case 'ratio':
      return `${value.toFixed(2)}× the trailing median`;
    case 'ms':
      return formatDuration(value);
    case 'rows':
      return `${value} row(s)`;
    default:
      return String(value);
  }
}

function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= 86_400_000) return `${(ms / 86_400_000).toFixed(1)} d`;
  if (abs >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (abs >= 60_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 1000).toFixed(1)} s`;
}
