/**
 * What a check type declares, in one file under src/checks/kinds/: its keys (the schema),
 * defaults and validation (parse), what it measures, and the line `journeyctl check --help`
 * shows. A registry is an explicit list of kinds (src/checks/kinds/registry.ts); nothing
 * registers itself on import.
 */
import type { CheckDefinition } from '../../domain/check.js';
import { indexKinds } from '../../domain/registry.js';
import type { Measurement, MeasureContext } from '../measure.js';

/** Helpers a kind's parse uses; each problem is reported with the check's name. */
export interface CheckParseTools {
  fail(problem: string): void;
  /** A required non-empty string. */
  text(key: string): string;
  /** A required path, resolved against the checks file's folder. */
  path(key: string): string;
  positiveInteger(value: unknown): boolean;
  isObject(value: unknown): value is Record<string, unknown>;
}

export interface CheckKind<P extends object = object> {
  type: string;
  /** One line for `journeyctl check --help`. */
  summary: string;
  /** Keys of this type beyond the common ones (name, type, description, tags, severity, warn_if, error_if, mostly). */
  keys: readonly string[];
  /** The measured value is a share of failing rows: `mostly` applies. */
  share?: boolean;
  /** Fails on any bad row unless thresholds say otherwise (no threshold needed). */
  anyRowFails?: boolean;
  /** Thresholds may be durations (2h, 1d). */
  durationThresholds?: boolean;
  /** Slow work in a child process: started before the other checks and awaited in order. */
  startEarly?: boolean;
  /** What the groups of a multi-group measurement are (default: app versions when by: app_version, else groups). */
  groupNoun?: string;
  /** The type's parameters from the check's YAML mapping (problems go to tools.fail). */
  parse(entry: Record<string, unknown>, tools: CheckParseTools): P;
  measure(check: CheckDefinition<P>, ctx: MeasureContext): Promise<Measurement>;
}

/** Types a kind's parameters; the identity at run time. */
export function defineCheckKind<P extends object>(kind: CheckKind<P>): CheckKind<P> {
  return kind;
}

export interface CheckRegistry {
  readonly kinds: readonly CheckKind[];
  types(): string[];
  get(type: string): CheckKind | undefined;
}

/** A registry from an explicit list of kinds (a type may appear once). */
export function createCheckRegistry(kinds: ReadonlyArray<CheckKind<any>>): CheckRegistry {
  const byType = indexKinds(kinds as readonly CheckKind[], (k) => k.type, 'check type');
  const list = [...byType.values()];
  return { kinds: list, types: () => list.map((k) => k.type), get: (type) => byType.get(type) };
}
