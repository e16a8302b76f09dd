/** One row of a store's health (`journeyctl doctor`). */
export interface HealthRow {
  check: string;
  status: 'ok' | 'fail' | 'skip';
  detail: string;
  /** What to do about a failure. */
  fix: string;
}

export interface MigrateOptions {
  /** ClickHouse server: ON CLUSTER and Replicated engines. */
  cluster?: string;
  /** The command migrating, shown to a process that has to wait for an embedded store. */
  command: string;
  waitMs: number;
  log: (message: string) => void;
}

/**
 * What commands ask of a configured engine without knowing which it is (doctor, migrate, tail):
 * where it lives, how to create what it needs, whether it is healthy. One per engine, from the
 * registry in stores/engine-admin.ts; nothing outside src/stores/ spells out an engine's layout.
 */
export interface EngineAdmin {
  readonly engine: string;
  /** Where the store is, as a person may be shown it (a path, or a URL without its password). */
  readonly location: string;
  /** How `tail` names the store it reads: the data directory of an embedded store, else the engine. */
  readonly label: string;
  /** Held by one process at a time (embedded chdb): a following reader would make writers wait. */
  readonly exclusive: boolean;
  /** Creates what the store needs (idempotent) and says what is ready, in one line. */
  migrate(options: MigrateOptions): Promise<string>;
  /** Reachable, version, schema: rows for doctor (a store that cannot be reached is a failed row, not an error). */
  health(): Promise<HealthRow[]>;
}
