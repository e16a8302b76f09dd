/**
 * The checks file: a list of data-quality checks in the manner of dbt tests and Soda checks.
 * Each check has a name, a type, tags, a severity and thresholds; this module turns the YAML
 * into typed definitions and reports every problem with the check's name (exit 2).
 *
 *   - name: rejected_rate_by_version
 *     type: rejected_rate
 *     by: app_version          # one measurement per app version
 *     tags: [ingest]
 *     severity: error          # warn | error (default error)
 *     warn_if: { above: 0.02 }
 *     error_if: { above: 0.10 }
 *   - name: product_id_present
 *     type: missing_rate
 *     event: product_viewed
 *     property: product_id
 *     mostly: 0.99             # at least 99% of rows pass
 */
import { isAbsolute, resolve } from 'node:path';
import { parseDurationMs } from '../domain/time.js';

export const CHECK_TYPES = [
  'freshness',
  'volume',
  'rejected_rate',
  'duplicate_rate',
  'late_rate',
  'missing_rate',
  'accepted_values',
  'flagged_share',
  'funnel_conversion',
  'reconcile',
  'golden_journeys',
  'sql',
] as const;
export type CheckType = (typeof CHECK_TYPES)[number];
export type Severity = 'warn' | 'error';

/** A threshold: the measured value is a breach when above `above` or below `below`. */
export interface Bound {
  above?: number;
  below?: number;
}

interface CheckBase {
  name: string;
  description: string;
  tags: string[];
  severity: Severity;
  warnIf?: Bound;
  errorIf?: Bound;
}

export type CheckDefinition = CheckBase &
  (
    | { type: 'freshness' }
    | { type: 'volume'; of: 'events' | 'sessions' | 'rejected'; trailingDays: number | null; minHistory: number; minBaseline: number }
    | { type: 'rejected_rate' | 'duplicate_rate' | 'late_rate'; by: 'app_version' | null; minLines: number }
    | { type: 'missing_rate'; event: string; property: string }
    | { type: 'accepted_values'; event: string; property: string; values: Array<string | number | boolean | null> }
    | { type: 'flagged_share'; flag: string }
    | { type: 'funnel_conversion'; funnel: string; fromStep: number; toStep: number | null; includeFlagged: boolean }
    | { type: 'reconcile' }
    | { type: 'golden_journeys'; input: string; expected: string; config: string | null }
    | { type: 'sql'; query: string }
  );

/** Checks whose measured value is a share of failing rows: `mostly` applies to them. */
const SHARE_TYPES: ReadonlySet<CheckType> = new Set(['rejected_rate', 'duplicate_rate', 'late_rate', 'missing_rate', 'accepted_values', 'flagged_share']);
/** Checks that fail on any bad row unless thresholds say otherwise. */
const ANY_ROW_FAILS: ReadonlySet<CheckType> = new Set(['accepted_values', 'reconcile', 'golden_journeys', 'sql']);

const COMMON_KEYS = ['name', 'type', 'description', 'tags', 'severity', 'warn_if', 'error_if', 'mostly'];
const TYPE_KEYS: Record<CheckType, string[]> = {
  freshness: [],
  volume: ['of', 'relative_to', 'min_history', 'min_baseline'],
  rejected_rate: ['by', 'min_lines'],
  duplicate_rate: ['by', 'min_lines'],
  late_rate: ['by', 'min_lines'],
  missing_rate: ['event', 'property'],
  accepted_values: ['event', 'property', 'values'],
  flagged_share: ['flag'],
  funnel_conversion: ['funnel', 'from_step', 'to_step', 'include_flagged'],
  reconcile: [],
  golden_journeys: ['input', 'expected', 'config'],
  sql: ['query'],
};

/**
 * Reads a `checks` list. `baseDir` resolves relative paths (golden inputs) against the file the
 * checks came from. Every problem is collected, each naming its check.
 */
export function parseChecks(value: unknown, baseDir: string): { checks: CheckDefinition[]; errors: string[] } {
  const errors: string[] = [];
  if (value === undefined || value === null) return { checks: [], errors };
  if (!Array.isArray(value)) return { checks: [], errors: ['checks must be a list of checks (each with name and type)'] };
  const checks: CheckDefinition[] = [];
  const names = new Set<string>();
  value.forEach((entry, index) => {
    const check = parseCheck(entry, index, baseDir, errors);
    if (!check) return;
    if (names.has(check.name)) errors.push(`check ${check.name}: the name is used twice`);
    names.add(check.name);
    checks.push(check);
  });
  return { checks, errors };
}

function parseCheck(entry: unknown, index: number, baseDir: string, errors: string[]): CheckDefinition | null {
  if (!isObject(entry)) {
    errors.push(`checks[${index}] must be a mapping with name and type`);
    return null;
  }
  const name = typeof entry.name === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(entry.name) ? entry.name : null;
  const where = `check ${name ?? `checks[${index}]`}`;
  const before = errors.length;
  const fail = (problem: string) => errors.push(`${where}: ${problem}`);
  if (name === null) errors.push(`checks[${index}]: name must be letters, digits, _ . - (got ${JSON.stringify(entry.name)})`);
  const type = (CHECK_TYPES as readonly string[]).includes(entry.type as string) ? (entry.type as CheckType) : null;
  if (type === null) {
    fail(`type must be one of ${CHECK_TYPES.join(', ')} (got ${JSON.stringify(entry.type)})`);
    return null;
  }
  const known = [...COMMON_KEYS, ...TYPE_KEYS[type]];
  for (const key of Object.keys(entry)) if (!known.includes(key)) fail(`unknown key "${key}" for a ${type} check (known: ${known.join(', ')})`);
  const severity = entry.severity === undefined ? 'error' : entry.severity;
  if (severity !== 'warn' && severity !== 'error') fail(`severity must be warn or error (got ${JSON.stringify(entry.severity)})`);
  let tags: string[] = [];
  if (entry.tags !== undefined) {
    if (!Array.isArray(entry.tags) || entry.tags.some((t) => typeof t !== 'string')) fail('tags must be a list of strings');
    else tags = entry.tags as string[];
  }
  const isDuration = type === 'freshness';
  const warnIf = entry.warn_if === undefined ? undefined : parseBound(entry.warn_if, 'warn_if', isDuration, fail);
  let errorIf = entry.error_if === undefined ? undefined : parseBound(entry.error_if, 'error_if', isDuration, fail);
  let warnFromMostly: Bound | undefined;
  if (entry.mostly !== undefined) {
    if (!SHARE_TYPES.has(type)) fail(`mostly applies to share checks (${[...SHARE_TYPES].join(', ')}); use warn_if/error_if`);
    else if (typeof entry.mostly !== 'number' || !(entry.mostly > 0) || entry.mostly > 1) fail(`mostly must be a share between 0 and 1 (got ${JSON.stringify(entry.mostly)})`);
    else if (severity === 'warn') warnFromMostly = { above: roundShare(1 - entry.mostly) };
    else errorIf = { ...errorIf, above: roundShare(1 - entry.mostly) };
  }
  const base: CheckBase = {
    name: name ?? '',
    description: typeof entry.description === 'string' ? entry.description : '',
    tags,
    severity: severity as Severity,
    ...(warnIf || warnFromMostly ? { warnIf: { ...warnFromMostly, ...warnIf } } : {}),
    ...(errorIf ? { errorIf } : {}),
  };
  if (!base.warnIf && !base.errorIf) {
    if (ANY_ROW_FAILS.has(type)) base.errorIf = { above: 0 };
    else fail('needs a threshold: warn_if, error_if' + (SHARE_TYPES.has(type) ? ' or mostly' : ''));
  }
  if (base.severity === 'warn' && base.errorIf && !base.warnIf) {
    // A warn-severity check never errors: its error threshold is where it warns.
    base.warnIf = base.errorIf;
    delete base.errorIf;
  }
  const text = (key: string): string => {
    const v = entry[key];
    if (typeof v !== 'string' || v.trim() === '') {
      fail(`${key} is required (a non-empty string)`);
      return '';
    }
    return v;
  };
  const path = (key: string): string => {
    const v = text(key);
    return v === '' ? '' : isAbsolute(v) ? v : resolve(baseDir, v);
  };
  let check: CheckDefinition;
  switch (type) {
    case 'freshness':
    case 'reconcile':
      check = { ...base, type };
      break;
    case 'volume': {
      const of = entry.of === undefined ? 'events' : entry.of;
      if (of !== 'events' && of !== 'sessions' && of !== 'rejected') fail(`of must be events, sessions or rejected (got ${JSON.stringify(entry.of)})`);
      let trailingDays: number | null = null;
      if (entry.relative_to !== undefined) {
        const rel = entry.relative_to;
        if (!isObject(rel) || !positiveInteger(rel.trailing_days) || Object.keys(rel).some((k) => k !== 'trailing_days')) fail('relative_to must be { trailing_days: N } (the median of the N days before)');
        else trailingDays = rel.trailing_days as number;
      }
      const minHistory = entry.min_history === undefined ? 1 : entry.min_history;
      if (!positiveInteger(minHistory)) fail('min_history must be a positive integer (days with data before the one measured)');
      const minBaseline = entry.min_baseline === undefined ? 1 : entry.min_baseline;
      if (!positiveInteger(minBaseline)) fail('min_baseline must be a positive integer (the median is at least this, so a quiet history does not turn a handful into a spike)');
      check = { ...base, type, of: of as 'events', trailingDays, minHistory: minHistory as number, minBaseline: minBaseline as number };
      break;
    }
    case 'rejected_rate':
    case 'duplicate_rate':
    case 'late_rate': {
      if (entry.by !== undefined && entry.by !== 'app_version') fail(`by must be app_version (got ${JSON.stringify(entry.by)})`);
      const minLines = entry.min_lines === undefined ? 1 : entry.min_lines;
      if (!positiveInteger(minLines)) fail('min_lines must be a positive integer');
      check = { ...base, type, by: entry.by === 'app_version' ? 'app_version' : null, minLines: minLines as number };
      break;
    }
    case 'missing_rate':
      check = { ...base, type, event: text('event'), property: text('property') };
      break;
    case 'accepted_values': {
      const values = entry.values;
      if (!Array.isArray(values) || values.length === 0 || values.some((v) => v !== null && typeof v === 'object')) fail('values must be a non-empty list of strings, numbers, booleans or null');
      check = { ...base, type, event: text('event'), property: text('property'), values: Array.isArray(values) ? (values as Array<string | number | boolean | null>) : [] };
      break;
    }
    case 'flagged_share':
      check = { ...base, type, flag: text('flag') };
      break;
    case 'funnel_conversion': {
      const fromStep = entry.from_step === undefined ? 1 : entry.from_step;
      const toStep = entry.to_step === undefined ? null : entry.to_step;
      if (!positiveInteger(fromStep)) fail('from_step must be a positive integer');
      if (toStep !== null && (!positiveInteger(toStep) || (toStep as number) <= (fromStep as number))) fail('to_step must be an integer after from_step');
      if (entry.include_flagged !== undefined && typeof entry.include_flagged !== 'boolean') fail('include_flagged must be true or false');
      check = { ...base, type, funnel: text('funnel'), fromStep: fromStep as number, toStep: toStep as number | null, includeFlagged: entry.include_flagged === true };
      break;
    }
    case 'golden_journeys':
      check = { ...base, type, input: path('input'), expected: path('expected'), config: entry.config === undefined ? null : path('config') };
      break;
    case 'sql':
      check = { ...base, type, query: text('query') };
      break;
  }
  return errors.length === before ? check : null;
}

function parseBound(value: unknown, key: string, isDuration: boolean, fail: (problem: string) => void): Bound | undefined {
  if (!isObject(value)) {
    fail(`${key} must be { above: X }, { below: X } or { outside: [low, high] }`);
    return undefined;
  }
  const number = (v: unknown, what: string): number | undefined => {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (isDuration && typeof v === 'string') {
      const ms = parseDurationMs(v);
      if (ms !== null) return ms;
    }
    fail(`${key}.${what} must be a number${isDuration ? ' or a duration (e.g. 2h, 1d)' : ''} (got ${JSON.stringify(v)})`);
    return undefined;
  };
  const bound: Bound = {};
  for (const k of Object.keys(value)) if (!['above', 'below', 'outside'].includes(k)) fail(`${key}: unknown key "${k}" (use above, below or outside)`);
  if (value.above !== undefined) bound.above = number(value.above, 'above');
  if (value.below !== undefined) bound.below = number(value.below, 'below');
  if (value.outside !== undefined) {
    if (!Array.isArray(value.outside) || value.outside.length !== 2) fail(`${key}.outside must be [low, high]`);
    else {
      bound.below = number(value.outside[0], 'outside[0]');
      bound.above = number(value.outside[1], 'outside[1]');
    }
  }
  if (bound.above === undefined && bound.below === undefined) {
    fail(`${key} needs above, below or outside`);
    return undefined;
  }
  return bound;
}

function roundShare(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function positiveInteger(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) > 0;
}
