/**
 * Automatic anomaly flags of one session, computed from its events alone: each flag is a file
 * under src/journeys/flags/ and the registry (src/journeys/flags/registry.ts) lists them. This
 * module runs the detectors and reads the `flags:` settings through the registry.
 */
import type { Session } from '../domain/session.js';
import type { BotLikeSettings } from './flags/bot-like.js';
import type { DuplicateStormSettings } from './flags/duplicate-storm.js';
import type { FlagMatch, FlagRegistry } from './flags/kind.js';
import { FLAG_KINDS } from './flags/registry.js';
import { isObject } from './parse-helpers.js';
import type { ReleaseBurstSettings } from './release-bursts.js';
import type { RuleEvent } from './rules.js';
import { type JourneySignals, NO_SIGNALS } from './signals.js';

export type { FlagMatch } from './flags/kind.js';
export { busiestMinute } from './flags/bot-like.js';

/** Every flag's settings by its settingsKey; the shipped ones typed, a registered one under its own key. */
export interface FlagSettings {
  botLike: BotLikeSettings;
  clockSkew: { thresholdMs: number };
  duplicateStorm: DuplicateStormSettings;
  releaseBurst: ReleaseBurstSettings;
  readonly [settingsKey: string]: unknown;
}

export function defaultFlagSettings(registry: FlagRegistry): FlagSettings {
  return Object.fromEntries(registry.kinds.filter((k) => k.settingsKey).map((k) => [k.settingsKey, k.defaults])) as unknown as FlagSettings;
}

export const DEFAULT_FLAG_SETTINGS: FlagSettings = defaultFlagSettings(FLAG_KINDS);

/** The rule version a flag's findings carry (1 for a name no flag declares). */
export function flagRuleVersion(name: string, registry: FlagRegistry = FLAG_KINDS): number {
  return registry.get(name)?.version ?? 1;
}

export function sessionFlags(session: Session, events: readonly RuleEvent[], settings: FlagSettings, signals: JourneySignals = NO_SIGNALS, registry: FlagRegistry = FLAG_KINDS): FlagMatch[] {
  const flags: FlagMatch[] = [];
  for (const kind of registry.kinds) {
    const match = kind.detect(session, events, kind.settingsKey ? (settings[kind.settingsKey] ?? kind.defaults) : undefined, signals);
    if (match) flags.push(match);
  }
  return flags;
}

/** Reads the `flags:` mapping: each flag parses its own section over a copy of its defaults. */
export function parseFlagSettings(value: unknown, errors: string[], registry: FlagRegistry = FLAG_KINDS): FlagSettings {
  const defaults = registry === FLAG_KINDS ? DEFAULT_FLAG_SETTINGS : defaultFlagSettings(registry);
  if (value === undefined) return defaults;
  if (!isObject(value)) {
    errors.push('flags must be a mapping');
    return defaults;
  }
  const settings = structuredClone(defaults) as Record<string, unknown>;
  for (const kind of registry.kinds) {
    if (kind.settingsKey && kind.parseSettings) settings[kind.settingsKey] = kind.parseSettings(value, settings[kind.settingsKey], errors);
  }
  return settings as FlagSettings;
}

/** The `flags:` part of the config's key schema (unknown-key warnings): null where a flag checks its keys itself. */
export function flagsKeySchema(registry: FlagRegistry = FLAG_KINDS): Record<string, Record<string, null> | null> {
  return Object.fromEntries(registry.kinds.filter((k) => k.settingsKey).map((k) => [k.name, k.configKeys ?? null]));
}
