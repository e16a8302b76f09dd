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
import type { Bound, CheckBase, CheckDefinition, ChecksParser, Severity } from '../domain/check.js';
import { parseDurationMs } from '../domain/time.js';
import type { CheckParseTools, CheckRegistry } from './kinds/kind.js';
import { CHECK_KINDS } from './kinds/registry.js';

export type { Bound, CheckDefinition, Severity } from '../domain/check.js';

const COMMON_KEYS = ['name', 'type', 'description', 'tags', 'severity', 'warn_if', 'error_if', 'mostly'];

/**
 * Reads a `checks` list. `baseDir` resolves relative paths (golden inputs) against the file the
 * checks came from. Every problem is collected, each naming its check. The types, their keys and
 * their parameters come from `registry` (the shipped types unless a caller extends it).
 */
export function parseChecks(value: unknown, baseDir: string, registry: CheckRegistry = CHECK_KINDS): { checks: CheckDefinition[]; errors: string[] } {
  const errors: string[] = [];
  if (value === undefined || value === null) return { checks: [], errors };
  if (!Array.isArray(value)) return { checks: [], errors: ['checks must be a list of checks (each with name and type)'] };
  const checks: CheckDefinition[] = [];
  const names = new Set<string>();
  value.forEach((entry, index) => {
    const check = parseCheck(entry, index, baseDir, errors, registry);
    if (!check) return;
    if (names.has(check.name)) errors.push(`check ${check.name}: the name is used twice`);
    names.add(check.name);
    checks.push(check);
  });
  return { checks, errors };
}

/** The parser a config hands its `checks` section to (src/config/config.ts takes it as a ConfigParsers entry). */
export function checksParser(registry: CheckRegistry = CHECK_KINDS): ChecksParser {
  return (value, baseDir) => parseChecks(value, baseDir, registry);
}

function parseCheck(entry: unknown, index: number, baseDir: string, errors: string[], registry: CheckRegistry): CheckDefinition | null {
  if (!isObject(entry)) {
    errors.push(`checks[${index}] must be a mapping with name and type`);
    return null;
  }
  const name = typeof entry.name === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(entry.name) ? entry.name : null;
  const where = `check ${name ?? `checks[${index}]`}`;
  const before = errors.length;
  const fail = (problem: string) => errors.push(`${where}: ${problem}`);
  if (name === null) errors.push(`checks[${index}]: name must be letters, digits, _ . - (got ${JSON.stringify(entry.name)})`);
  const kind = typeof entry.type === 'string' ? registry.get(entry.type) : undefined;
  if (kind === undefined) {
    fail(`type must be one of ${registry.types().join(', ')} (got ${JSON.stringify(entry.type)})`);
    return null;
  }
  const type = kind.type;
  const shareTypes = registry.kinds.filter((k) => k.share).map((k) => k.type);
  const known = [...COMMON_KEYS, ...kind.keys];
  for (const key of Object.keys(entry)) if (!known.includes(key)) fail(`unknown key "${key}" for a ${type} check (known: ${known.join(', ')})`);
  const severity = entry.severity === undefined ? 'error' : entry.severity;
  if (severity !== 'warn' && severity !== 'error') fail(`severity must be warn or error (got ${JSON.stringify(entry.severity)})`);
  let tags: string[] = [];
  if (entry.tags !== undefined) {
    if (!Array.isArray(entry.tags) || entry.tags.some((t) => typeof t !== 'string')) fail('tags must be a list of strings');
    else tags = entry.tags as string[];
  }
  const isDuration = kind.durationThresholds === true;
  const warnIf = entry.warn_if === undefined ? undefined : parseBound(entry.warn_if, 'warn_if', isDuration, fail);
  let errorIf = entry.error_if === undefined ? undefined : parseBound(entry.error_if, 'error_if', isDuration, fail);
  let warnFromMostly: Bound | undefined;
  if (entry.mostly !== undefined) {
    if (!kind.share) fail(`mostly applies to share checks (${shareTypes.join(', ')}); use warn_if/error_if`);
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
    if (kind.anyRowFails) base.errorIf = { above: 0 };
    else fail('needs a threshold: warn_if, error_if' + (kind.share ? ' or mostly' : ''));
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
  const tools: CheckParseTools = { fail, text, path, positiveInteger, isObject };
  const check: CheckDefinition = { ...base, type, ...kind.parse(entry, tools) };
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
