import { InfrastructureError } from '../errors.js';

/**
 * Damage found in a store: what a command refuses to work on, `doctor` lists and `journeyctl
 * repair` rebuilds. The raw store is the source of truth; analytics can always be rebuilt from it.
 */
export interface StoreDamage {
  store: 'raw store' | 'analytics store' | 'data directory';
  kind:
    | 'raw store missing' // analytics holds data, the raw store is gone or empty
    | 'analytics missing' // the raw store holds data, analytics/ is gone or was replaced
    | 'parts disagree' // raw.sqlite and analytics/ belong to different data directories
    | 'table missing' // a table definition of the analytics store was deleted
    | 'broken part' // a part set aside by the engine when it opened (truncated, altered marks or count.txt)
    | 'checksum mismatch' // a part whose data no longer matches its checksums (garbled)
    | 'sqlite corrupt'; // PRAGMA quick_check / integrity_check found a damaged page
  table?: string;
  /** The UTC day partition (YYYY-MM-DD) the damage is in, when it is one day. */
  day?: string;
  part?: string;
  detail: string;
}

/** Analytics damage that rebuilding single days fixes; anything else needs a rebuild of every day. */
export function isDayDamage(damage: StoreDamage): boolean {
  return damage.store === 'analytics store' && damage.day !== undefined && (damage.kind === 'broken part' || damage.kind === 'checksum mismatch');
}

export const REPAIR_HINT = 'see what it rebuilds with `journeyctl repair --dry-run`, then run `journeyctl repair --yes` (analytics are rebuilt from the raw store)';

export function describeDamage(damage: StoreDamage): string {
  const where = [damage.table && `table ${damage.table}`, damage.day && `day ${damage.day}`].filter(Boolean).join(', ');
  return `${damage.store}${where ? ` (${where})` : ''}: ${damage.detail}`;
}

/** One line naming the damage, one hint naming the repair; never retried (waiting does not mend files). */
export function damageError(damages: readonly StoreDamage[], hint: string = REPAIR_HINT): InfrastructureError {
  const first = damages[0]!;
  const more = damages.length > 1 ? `; and ${damages.length - 1} more (journeyctl doctor lists them)` : '';
  return new InfrastructureError(`damaged ${describeDamage(first)}${more}`, { hint, retriable: false });
}

/** `20260106` (a day partition id) → `2026-01-06`; other partition ids (months of check_failures) have no day. */
export function dayOfPartition(partitionId: string | null | undefined): string | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(partitionId ?? '');
  return match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}
