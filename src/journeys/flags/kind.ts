/**
 * What an automatic flag declares, in one file under src/journeys/flags/: its name (the finding
 * and the `flags:` config key), rule version, description, settings with defaults and their
 * parser, and the detector. A registry is an explicit list (src/journeys/flags/registry.ts).
 */
import { indexKinds } from '../../domain/registry.js';
import type { Session } from '../../domain/session.js';
import type { RuleEvent } from '../rules.js';
import type { JourneySignals } from '../signals.js';

export interface FlagMatch {
  name: string;
  detail: string;
  evidence: string[];
}

export interface FlagKind<S = unknown> {
  name: string;
  /** Bumped when the rule changes: a finding says which rule made it. */
  version: number;
  description: string;
  /** Where the settings sit in FlagSettings (camelCase); omitted for a flag without settings. */
  settingsKey?: string;
  defaults?: S;
  /** Keys of `flags.<name>` the config's unknown-key check knows; null when parseSettings checks them itself. */
  configKeys?: Record<string, null> | null;
  /** Reads `flags.<name>` (the whole `flags` mapping is given) into a copy of the defaults. */
  parseSettings?(flags: Record<string, unknown>, settings: S, errors: string[]): S;
  detect(session: Session, events: readonly RuleEvent[], settings: S, signals: JourneySignals): FlagMatch | null;
}

/** Types a flag's settings; the identity at run time. */
export function defineFlag<S>(kind: FlagKind<S>): FlagKind<S> {
  return kind;
}

export interface FlagRegistry {
  /** In detection order: the order a session's findings list them. */
  readonly kinds: readonly FlagKind[];
  get(name: string): FlagKind | undefined;
}

export function createFlagRegistry(kinds: ReadonlyArray<FlagKind<any>>): FlagRegistry {
  const byName = indexKinds(kinds as readonly FlagKind[], (k) => k.name, 'flag');
  const list = [...byName.values()];
  return { kinds: list, get: (name) => byName.get(name) };
}
