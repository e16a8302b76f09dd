import { parseDurationMs } from '../domain/time.js';
import type { CountClause, EventMatcher, LabelRule, PropertyCondition } from './rules.js';
import type { FunnelDefinition } from './funnels.js';
import type { FlagSettings } from './flags.js';
import { DEFAULT_FLAG_SETTINGS } from './flags.js';
import { DEFAULT_FUNNELS, DEFAULT_LABEL_RULES } from './defaults.js';

export interface JourneyRules {
  labels: LabelRule[];
  funnels: FunnelDefinition[];
  flags: FlagSettings;
}

/**
 * Reads the `labels`, `funnels` and `flags` sections. Every problem names the rule and what is
 * wrong with it. User labels are added to the shipped defaults; one with a default's name
 * replaces it; `disable_default_labels: true` drops the defaults.
 */
export function parseJourneyConfig(root: Record<string, unknown>): { config: JourneyRules; errors: string[] } {
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
  const flags = parseFlags(root.flags, errors);
  return { config: { labels: [...labels.values()], funnels, flags }, errors };
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

function parseWithin(value: unknown, where: string, errors: string[]): number {
  const ms = typeof value === 'string' ? parseDurationMs(value) : null;
  if (ms === null || ms <= 0) errors.push(`${where}: "${String(value)}" is not a duration (e.g. 3s, 10m)`);
  return ms ?? 0;
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

function parseFlags(value: unknown, errors: string[]): FlagSettings {
  if (value === undefined) return DEFAULT_FLAG_SETTINGS;
  if (!isObject(value)) {
    errors.push('flags must be a mapping');
    return DEFAULT_FLAG_SETTINGS;
  }
  const settings = structuredClone(DEFAULT_FLAG_SETTINGS) as FlagSettings;
  const bot = isObject(value.bot_like) ? value.bot_like : {};
  if (bot.min_events !== undefined) {
    if (!positiveInteger(bot.min_events)) errors.push('flags.bot_like.min_events must be a positive integer');
    else settings.botLike.minEvents = bot.min_events as number;
  }
  if (bot.max_median_gap !== undefined) settings.botLike.maxMedianGapMs = parseWithin(bot.max_median_gap, 'flags.bot_like.max_median_gap', errors);
  if (bot.max_events_per_minute !== undefined) {
    if (!positiveInteger(bot.max_events_per_minute)) errors.push('flags.bot_like.max_events_per_minute must be a positive integer');
    else settings.botLike.maxEventsPerMinute = bot.max_events_per_minute as number;
  }
  const skew = isObject(value.clock_skew) ? value.clock_skew : {};
  if (skew.threshold !== undefined) settings.clockSkew.thresholdMs = parseWithin(skew.threshold, 'flags.clock_skew.threshold', errors);
  const storm = readSection(value, 'duplicate_storm', ['baseline', 'multiple', 'min_extra_copies'], errors);
  if (storm.baseline !== undefined) settings.duplicateStorm.baseline = share(storm.baseline, 'flags.duplicate_storm.baseline', errors);
  if (storm.multiple !== undefined) settings.duplicateStorm.multiple = positiveNumber(storm.multiple, 'flags.duplicate_storm.multiple', errors);
  if (storm.min_extra_copies !== undefined) settings.duplicateStorm.minExtraCopies = integerAtLeastOne(storm.min_extra_copies, 'flags.duplicate_storm.min_extra_copies', errors);
  const burst = readSection(value, 'release_burst', ['bucket', 'min_rejected', 'min_share', 'baseline_multiple', 'min_baseline_lines', 'max_gap'], errors);
  const bursts = settings.releaseBurst;
  if (burst.bucket !== undefined) {
    bursts.bucketMs = parseWithin(burst.bucket, 'flags.release_burst.bucket', errors);
    if (bursts.bucketMs > 0 && bursts.bucketMs < 60_000) errors.push('flags.release_burst.bucket must be at least 1m');
  }
  if (burst.min_rejected !== undefined) bursts.minRejected = integerAtLeastOne(burst.min_rejected, 'flags.release_burst.min_rejected', errors);
  if (burst.min_share !== undefined) bursts.minShare = share(burst.min_share, 'flags.release_burst.min_share', errors);
  if (burst.baseline_multiple !== undefined) bursts.baselineMultiple = positiveNumber(burst.baseline_multiple, 'flags.release_burst.baseline_multiple', errors);
  if (burst.min_baseline_lines !== undefined) bursts.minBaselineLines = integerAtLeastOne(burst.min_baseline_lines, 'flags.release_burst.min_baseline_lines', errors);
  if (burst.max_gap !== undefined) {
    const gap = typeof burst.max_gap === 'string' ? parseDurationMs(burst.max_gap) : null;
    if (gap === null) errors.push(`flags.release_burst.max_gap: "${String(burst.max_gap)}" is not a duration (e.g. 0m, 30m)`);
    else bursts.maxGapMs = gap;
  }
  return settings;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function positiveInteger(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) > 0;
}

function readSection(flags: Record<string, unknown>, name: string, keys: readonly string[], errors: string[]): Record<string, unknown> {
  const section = flags[name];
  if (section === undefined) return {};
  if (!isObject(section)) {
    errors.push(`flags.${name} must be a mapping`);
    return {};
  }
  for (const key of Object.keys(section)) if (!keys.includes(key)) errors.push(`flags.${name}: unknown setting "${key}" (known: ${keys.join(', ')})`);
  return section;
}

function share(value: unknown, path: string, errors: string[]): number {
  if (typeof value !== 'number' || !(value > 0) || value > 1) {
    errors.push(`${path} must be a share between 0 and 1 (got ${JSON.stringify(value)})`);
    return 1;
  }
  return value;
}

function positiveNumber(value: unknown, path: string, errors: string[]): number {
  if (typeof value !== 'number' || !(value > 0)) {
    errors.push(`${path} must be a positive number (got ${JSON.stringify(value)})`);
    return 1;
  }
  return value;
}

function integerAtLeastOne(value: unknown, path: string, errors: string[]): number {
  if (!positiveInteger(value)) {
    errors.push(`${path} must be a positive integer (got ${JSON.stringify(value)})`);
    return 1;
  }
  return value as number;
}
