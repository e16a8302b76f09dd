import type { JourneyConfig } from '../config/config.js';
import { UsageError } from '../errors.js';
import type { OpenedAnalyticsStore } from './analytics-store.js';
import type { EngineAdmin, HealthRow, MigrateOptions } from './ports/engine-admin.js';
import type { RawStore } from './raw-store.js';
import type { StoreDamage } from './store-damage.js';

export interface RawOpenOptions {
  create?: boolean;
  allowDamage?: boolean;
}

/**
 * One raw store engine, declared next to nothing but its own spec: how it opens from the config
 * and how it is administered. `openRawStore` and `rawEngineAdmin` only look it up by name.
 */
export interface RawEngineSpec {
  /** The value of `stores.raw.engine` that selects it. */
  readonly name: string;
  open(config: JourneyConfig, options: RawOpenOptions): Promise<RawStore>;
  readonly admin: {
    /** Where the store is, as a person may be shown it (a path, or a URL without its password). */
    location(config: JourneyConfig): string;
    /** How `tail` names the store it reads. */
    label(config: JourneyConfig): string;
    /** Run on a store just opened with `create`: whatever else its schema needs; says what is ready. */
    migrate(store: RawStore, location: string): Promise<string>;
    /** `migrate --cluster`: create its server tables ON CLUSTER before anything opens it (an engine without it ignores --cluster). */
    migrateCluster?(config: JourneyConfig, cluster: string): Promise<string>;
    /** The config `health` opens with (a server engine: a short connect timeout). */
    quickConfig?(config: JourneyConfig): JourneyConfig;
    /** The fix shown when opening failed for another reason than a missing data directory. */
    unreachableFix(message: string, location: string): string;
    /** Rows after `reachable` (version, schema). */
    health(store: RawStore, location: string, config: JourneyConfig): Promise<HealthRow[]>;
  };
}

export interface EngineRegistry<Spec extends { readonly name: string }> {
  readonly names: readonly string[];
  /** The engine registered under `name`; an unregistered name is a usage error naming the registered ones. */
  get(name: string, key: string): Spec;
}

/** The one way an engine becomes known: a list of specs, names unique. */
export function buildEngineRegistry<Spec extends { readonly name: string }>(specs: readonly Spec[]): EngineRegistry<Spec> {
  const byName = new Map<string, Spec>();
  for (const spec of specs) {
    if (byName.has(spec.name)) throw new Error(`engine ${spec.name} is registered twice`);
    byName.set(spec.name, spec);
  }
  const names = [...byName.keys()];
  return {
    names,
    get(name, key) {
      const spec = byName.get(name);
      if (!spec) throw new UsageError(`${key} is ${name}, which is not a registered engine (registered: ${names.join(', ')})`, { hint: `set ${key} to one of ${names.join(', ')}` });
      return spec;
    },
  };
}

export type RawEngineRegistry = EngineRegistry<RawEngineSpec>;

export interface AnalyticsOpenOptions {
  /** The command opening it, shown to any process that has to wait for an embedded store. */
  command: string;
  waitMs: number;
  log: (message: string) => void;
  create?: boolean;
  allowDamage?: boolean;
  /** With allowDamage: told what the open found (parts that disagree, deleted tables, broken parts). */
  onDamage?: (damage: StoreDamage[]) => void;
  /** Embedded engines: read only through a live process serving the directory, never open it here (tail --follow). */
  connectOnly?: boolean;
}

/** One analytics store engine: how it opens beside the raw store, and its admin. */
export interface AnalyticsEngineSpec {
  /** The value of `stores.analytics.engine` that selects it. */
  readonly name: string;
  /** Every engine's store answers the same damage questions (a managed service answers there are no broken parts). */
  open(config: JourneyConfig, raw: RawStore, options: AnalyticsOpenOptions): Promise<OpenedAnalyticsStore>;
  /** `openBoth` opens (creating) the raw and this analytics store and closes them: for an engine judged with the raw store. */
  admin(config: JourneyConfig, openBoth: (options: MigrateOptions) => Promise<void>): EngineAdmin;
}

export type AnalyticsEngineRegistry = EngineRegistry<AnalyticsEngineSpec>;
