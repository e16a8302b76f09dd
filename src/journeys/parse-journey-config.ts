import type { CountClause, EventMatcher, LabelRule, PropertyCondition } from './rules.js';
import type { FunnelDefinition } from './funnels.js';
import { type FlagSettings, parseFlagSettings } from './flags.js';
import type { FlagRegistry } from './flags/kind.js';
import { FLAG_KINDS } from './flags/registry.js';
import { DEFAULT_FUNNELS, DEFAULT_LABEL_RULES } from './defaults.js';
import { isObject, parseWithin, positiveInteger } from './parse-helpers.js';

export interface JourneyRules {
  labels: LabelRule[];
  funnels: FunnelDefinition[];
  flags: FlagSettings;
  /** The automatic flags derivation runs (default: the shipped ones). */
  flagKinds?: FlagRegistry;
}

/**
 * Reads the `labels`, `funnels` and `flags` sections. Every problem names the rule and what is
 * wrong with it. User labels are added to the shipped defaults; one with a default's name
 * replaces it; `disable_default_labels: true` drops the defaults.
 */
export function parseJourneyConfig(root: Record<string, unknown>, flagKinds: FlagRegistry = FLAG_KINDS): { config: JourneyRules; errors: string[] } {
  const errors: string[] = [];
  const labels = new Map<string, LabelRule>();
  if (root.disable_default_labels !== true) for (const rule of DEFAULT_LABEL_RULES) labels.set(rule.name, rule);
  if (root.labels !== undefined) {
    if (!Array.isArray(root.labels)) errors.push('labels must be a list of rules');
    else
      root.labels.forEach((entry, index) => {
        const rule = parseLabelRule(entry, index, errors);
        if (rule) labels.set(rule.name, rule);
      });
  }
  let funnels = DEFAULT_FUNNELS;
  if (root.funnels !== undefined) {
    if (!Array.isArray(root.funnels)) errors.push('funnels must be a list');
    else funnels = root.funnels.map((entry, index) => parseFunnel(entry, index, errors)).filter((f): f is FunnelDefinition => f !== null);
  }
  const flags = parseFlagSettings(root.flags, errors, flagKinds);
  return { config: { labels: [...labels.values()], funnels, flags, ...(flagKinds === FLAG_KINDS ? {} : { flagKinds }) }, errors };
}

const RULE_KEYS = new Set(['name', 'version', 'description', 'after', 'before', 'count', 'distinct', 'absent', 'sequence']);

function parseLabelRule(entry: unknown, index: number, errors: string[]): LabelRule | null {
  if (!isObject(entry)) {
    errors.push(`labels[${index}] must be a mapping with name, version, description and clauses`);
    return null;
  }
  const name = typeof entry.name === 'string' && /^[a-z][a-z0-9_]*$/.test(entry.name) ? entry.name : null;
  const where = `label rule ${name ?? `labels[${index}]`}`;
  const before = errors.length;
  if (name === null) errors.push(`labels[${index}]: name must be snake_case (got ${JSON.stringify(entry.name)})`);
  for (const key of Object.keys(entry)) if (!RULE_KEYS.has(key)) errors.push(`${where}: unknown clause "${key}" (known: ${[...RULE_KEYS].join(', ')})`);
  if (!Number.isInteger(entry.version) || (entry.version as number) < 1) errors.push(`${where}: version must be a positive integer`);
  if (typeof entry.description !== 'string' || entry.description.trim() === '') errors.push(`${where}: description is required (people read it in explain and report)`);
  const rule: LabelRule = { name: name ?? '', version: Number(entry.version), description: String(entry.description ?? '') };
  if (entry.after !== undefined) rule.after = parseMatchers(entry.after, `${where}: after`, errors);
  if (entry.before !== undefined) rule.before = parseMatchers(entry.before, `${where}: before`, errors);
  if (entry.absent !== undefined) rule.absent = parseMatchers(entry.absent, `${where}: absent`, errors);
  if (entry.count !== undefined) {
    const count = parseCount(entry.count, `${where}: count`, errors);
    if (count) rule.count = count;
  }
  if (entry.distinct !== undefined) {
    const clause = entry.distinct;
    if (!isObject(clause) || typeof clause.property !== 'string' || !positiveInteger(clause.at_least)) {
      errors.push(`${where}: distinct needs match, property and at_least (a positive integer)`);
    } else {
      rule.distinct = { match: parseMatchers(clause.match, `${where}: distinct.match`, errors), property: clause.property, atLeast: clause.at_least as number };
    }
  }
  if (entry.sequence !== undefined) {
    const clause = entry.sequence;
    if (!isObject(clause) || !Array.isArray(clause.steps) || clause.steps.length < 2) errors.push(`${where}: sequence needs steps (a list of at least two matchers)`);
    else {
      rule.sequence = { steps: clause.steps.map((step, i) => parseMatchers(step, `${where}: sequence.steps[${i}]`, errors)) };
      if (clause.within !== undefined) rule.sequence.withinMs = parseWithin(clause.within, `${where}: sequence.within`, errors);
    }
  }
  if (!['after', 'before', 'count', 'distinct', 'absent', 'sequence'].some((clause) => entry[clause] !== undefined)) {
    errors.push(`${where}: has no clause (after, before, count, distinct, absent, sequence); it would label every session`);
  }
  return errors.length === before ? rule : null;
}

function parseCount(value: unknown, where: string, errors: string[]): CountClause | null {
  if (!isObject(value) || !positiveInteger(value.at_least)) {
    errors.push(`${where} needs match and at_least (a positive integer)`);
    return null;
  }
  const clause: CountClause = { match: parseMatchers(value.match, `${where}.match`, errors), atLeast: value.at_least as number };
  if (value.within !== undefined) clause.withinMs = parseWithin(value.within, `${where}.within`, errors);
  if (value.same !== undefined) {
    if (typeof value.same !== 'string') errors.push(`${where}.same must be a property name`);
    else clause.same = value.same;
  }
  return clause;
}

export function parseMatchers(value: unknown, where: string, errors: string[]): EventMatcher[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) errors.push(`${where}: needs at least one matcher`);
  return list.map((item, index) => {
    const at = Array.isArray(value) ? `${where}[${index}]` : where;
    if (!isObject(item)) {
      errors.push(`${at}: a matcher is { event: name, where?: {...} }`);
      return { events: [], where: {} };
    }
    const events = typeof item.event === 'string' ? [item.event] : Array.isArray(item.event) && item.event.every((e) => typeof e === 'string') ? (item.event as string[]) : null;
    if (events === null || events.length === 0) errors.push(`${at}: event must be a name or a list of names`);
    const conditions: Record<string, PropertyCondition> = {};
    if (item.where !== undefined) {
      if (!isObject(item.where)) errors.push(`${at}: where must map property names to values`);
      else
        for (const [property, condition] of Object.entries(item.where)) {
          if (isObject(condition) && !(Array.isArray(condition.in) || typeof condition.exists === 'boolean')) {
            errors.push(`${at}: where.${property} must be a value, { in: [...] } or { exists: true|false }`);
          } else conditions[property] = condition as PropertyCondition;
        }
    }
    for (const key of Object.keys(item)) if (key !== 'event' && key !== 'where') errors.push(`${at}: unknown key "${key}" (a matcher has event and where)`);
    return { events: events ?? [], where: conditions };
  });
}

function parseFunnel(entry: unknown, index: number, errors: string[]): FunnelDefinition | null {
  if (!isObject(entry) || typeof entry.name !== 'string' || !Array.isArray(entry.steps) || entry.steps.length < 2) {
    errors.push(`funnels[${index}] needs a name and at least two steps`);
    return null;
  }
  const where = `funnel ${entry.name}`;
  const windowMs = entry.window === undefined ? 24 * 3_600_000 : parseWithin(entry.window, `${where}: window`, errors);
  return { name: entry.name, windowMs, steps: entry.steps.map((step, i) => parseMatchers(step, `${where}: steps[${i}]`, errors)) };
}
