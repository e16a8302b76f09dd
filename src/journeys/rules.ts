/**
 * The label rule language: small on purpose, so a product person can read a rule and a
 * steward can explain a label. A rule looks at one session's events (time order) and is the
 * AND of its clauses:
 *
 *   after:    <matcher>   only events after the first match count (the anchor must exist)
 *   before:   <matcher>   only events before the first match count (the anchor must exist)
 *   count:    { match, at_least, within?, same? }  at least N matches; with `within`, N inside
 *             one sliding window; with `same`, N sharing one value of that property
 *   distinct: { match, property, at_least }  at least N distinct values of the property
 *   absent:   <matcher>   no event in scope matches (e.g. signup without onboarding_completed)
 *   sequence: { steps: [<matcher>…], within? }  the steps occur in this order (gaps allowed)
 *
 * A matcher is `{ event: name | [names], where?: { property: value | { in: [...] } | { exists: bool } } }`,
 * or a list of matchers meaning any of them.
 */
import type { SessionEvent } from '../domain/session.js';

export type PropertyCondition = string | number | boolean | null | { in: Array<string | number | boolean | null> } | { exists: boolean };

export interface EventMatcher {
  events: string[];
  where: Record<string, PropertyCondition>;
}

export interface CountClause {
  match: EventMatcher[];
  atLeast: number;
  withinMs?: number;
  same?: string;
}

export interface LabelRule {
  name: string;
  version: number;
  description: string;
  after?: EventMatcher[];
  before?: EventMatcher[];
  count?: CountClause;
  distinct?: { match: EventMatcher[]; property: string; atLeast: number };
  absent?: EventMatcher[];
  sequence?: { steps: EventMatcher[][]; withinMs?: number };
}

/** An event with its properties parsed once per session, shared by every rule. */
export interface RuleEvent {
  messageId: string;
  event: string;
  eventTime: number;
  properties: Record<string, unknown>;
  timeSource?: SessionEvent['timeSource'];
  skewMs?: number;
  appVersion?: string | null;
  copies?: number;
  anonymousId?: string | null;
  anonymousIdUsers?: readonly string[];
}

export function toRuleEvents(events: readonly SessionEvent[]): RuleEvent[] {
  return events.map((event) => ({
    messageId: event.messageId,
    event: event.event,
    eventTime: event.eventTime,
    properties: parseProperties(event.propertiesJson),
    timeSource: event.timeSource,
    skewMs: event.skewMs,
    appVersion: event.appVersion,
    copies: event.copies,
    anonymousId: event.anonymousId,
    ...(event.anonymousIdUsers ? { anonymousIdUsers: event.anonymousIdUsers } : {}),
  }));
}

function parseProperties(json: string): Record<string, unknown> {
  try {
    const value = JSON.parse(json) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function matches(matchers: readonly EventMatcher[], event: RuleEvent): boolean {
  return matchers.some((matcher) => matcher.events.includes(event.event) && Object.entries(matcher.where).every(([name, condition]) => holds(condition, event.properties[name])));
}

function holds(condition: PropertyCondition, value: unknown): boolean {
  if (condition !== null && typeof condition === 'object') {
    if ('in' in condition) return condition.in.some((candidate) => candidate === value);
    return condition.exists === (value !== undefined && value !== null);
  }
  return value === condition;
}

export interface RuleMatch {
  detail: string;
  evidence: string[];
}

/** Evaluates one rule on one session's events (time order). Null when the rule does not hold. */
export function evaluateRule(rule: LabelRule, events: readonly RuleEvent[]): RuleMatch | null {
  let scope = events;
  const evidence: string[] = [];
  const details: string[] = [];
  if (rule.after) {
    const anchor = scope.findIndex((event) => matches(rule.after!, event));
    if (anchor < 0) return null;
    evidence.push(scope[anchor]!.messageId);
    details.push(`after ${scope[anchor]!.event}`);
    scope = scope.slice(anchor + 1);
  }
  if (rule.before) {
    const anchor = scope.findIndex((event) => matches(rule.before!, event));
    if (anchor < 0) return null;
    evidence.push(scope[anchor]!.messageId);
    details.push(`before ${scope[anchor]!.event}`);
    scope = scope.slice(0, anchor);
  }
  if (rule.count) {
    const found = countMatches(rule.count, scope);
    if (found === null) return null;
    evidence.push(...found.evidence);
    details.push(found.detail);
  }
  if (rule.distinct) {
    const { match, property, atLeast } = rule.distinct;
    const firstByValue = new Map<string, string>();
    for (const event of scope) {
      if (!matches(match, event)) continue;
      const value = event.properties[property];
      if (value === undefined || value === null) continue;
      const key = JSON.stringify(value);
      if (!firstByValue.has(key)) firstByValue.set(key, event.messageId);
    }
    if (firstByValue.size < atLeast) return null;
    evidence.push(...firstByValue.values());
    details.push(`${firstByValue.size} distinct ${property}`);
  }
  if (rule.absent) {
    if (scope.some((event) => matches(rule.absent!, event))) return null;
    details.push(`no ${rule.absent.flatMap((m) => m.events).join('/')}`);
  }
  if (rule.sequence) {
    const found = findSequence(rule.sequence.steps, scope, rule.sequence.withinMs);
    if (found === null) return null;
    evidence.push(...found);
    details.push(`sequence of ${found.length} steps`);
  }
  return { detail: details.join(', '), evidence: orderedUnique(evidence, events) };
}

function countMatches(clause: CountClause, scope: readonly RuleEvent[]): RuleMatch | null {
  const groups = new Map<string, RuleEvent[]>();
  for (const event of scope) {
    if (!matches(clause.match, event)) continue;
    const key = clause.same === undefined ? '' : JSON.stringify(event.properties[clause.same] ?? null);
    const group = groups.get(key);
    if (group) group.push(event);
    else groups.set(key, [event]);
  }
  for (const [key, group] of groups) {
    if (clause.withinMs === undefined) {
      if (group.length >= clause.atLeast) return { detail: describeCount(clause, group.length, key), evidence: group.map((e) => e.messageId) };
      continue;
    }
    // Sliding window: the first window holding at least N matches.
    let start = 0;
    for (let end = 0; end < group.length; end += 1) {
      while (group[end]!.eventTime - group[start]!.eventTime > clause.withinMs) start += 1;
      if (end - start + 1 >= clause.atLeast) {
        let last = end;
        while (last + 1 < group.length && group[last + 1]!.eventTime - group[start]!.eventTime <= clause.withinMs) last += 1;
        const window = group.slice(start, last + 1);
        return { detail: `${describeCount(clause, window.length, key)} within ${clause.withinMs / 1000} s`, evidence: window.map((e) => e.messageId) };
      }
    }
  }
  return null;
}

function describeCount(clause: CountClause, n: number, key: string): string {
  const names = [...new Set(clause.match.flatMap((m) => m.events))].join('/');
  return `${n} × ${names}${clause.same === undefined ? '' : ` on the same ${clause.same} ${key}`}`;
}

function findSequence(steps: readonly EventMatcher[][], scope: readonly RuleEvent[], withinMs: number | undefined): string[] | null {
  for (let first = 0; first < scope.length; first += 1) {
    if (!matches(steps[0]!, scope[first]!)) continue;
    const found = [scope[first]!.messageId];
    let position = first + 1;
    for (let step = 1; step < steps.length && position <= scope.length; step += 1) {
      while (position < scope.length && !matches(steps[step]!, scope[position]!)) position += 1;
      if (position >= scope.length) break;
      if (withinMs !== undefined && scope[position]!.eventTime - scope[first]!.eventTime > withinMs) break;
      found.push(scope[position]!.messageId);
      position += 1;
    }
    if (found.length === steps.length) return found;
  }
  return null;
}

function orderedUnique(ids: readonly string[], events: readonly RuleEvent[]): string[] {
  const wanted = new Set(ids);
  return events.filter((event) => wanted.has(event.messageId)).map((event) => event.messageId);
}
