/**
 * The shipped correction kinds; `fix` lists its subcommands in this order. A new kind is one file
 * in this folder plus one line here (and its test); see docs/decisions (registries).
 */
import type { Correction, CorrectionChange } from '../../domain/correction.js';
import { dropEvents } from './drop-events.js';
import { flagSession } from './flag-session.js';
import { flagSessions } from './flag-sessions.js';
import { type AffectsPorts, type CorrectionPorts, type CorrectionRegistry, createCorrectionRegistry } from './kind.js';
import { mergeSessions } from './merge-sessions.js';
import { mergeUsers } from './merge-users.js';
import { moveEvent } from './move-event.js';
import { renameEvent } from './rename-event.js';
import { revert } from './revert.js';
import { setProperty } from './set-property.js';
import { splitSession } from './split-session.js';
import { unflagSession } from './unflag-session.js';
import { unmergeUsers } from './unmerge-users.js';

export const SHIPPED_CORRECTION_KINDS = [
  mergeUsers,
  unmergeUsers,
  splitSession,
  mergeSessions,
  moveEvent,
  dropEvents,
  renameEvent,
  setProperty,
  flagSession,
  flagSessions,
  unflagSession,
  revert,
] as const;

export const CORRECTION_KINDS = createCorrectionRegistry(SHIPPED_CORRECTION_KINDS);

/** One line a person reads: what the correction does (the kind's name for a record no registered kind reads). */
export function describeChange(change: CorrectionChange, registry: CorrectionRegistry = CORRECTION_KINDS): string {
  return registry.get(change.kind)?.describe(change) ?? change.kind;
}

/**
 * The identity keys whose users a change touches: re-deriving them (and only them) applies it.
 * Unknown ids and contradictions are refused here, before anything is written.
 */
export function affectedIdentityKeys(
  ports: Pick<CorrectionPorts, 'identityKeysForEvents'>,
  change: CorrectionChange,
  existing: readonly Correction[],
  registry: CorrectionRegistry = CORRECTION_KINDS,
): Promise<string[]> {
  const affects: AffectsPorts = { identityKeysForEvents: (filter) => ports.identityKeysForEvents(filter), affectsOf: (other) => affectedIdentityKeys(ports, other, existing, registry) };
  return registry.of(change).affects(change, affects, existing);
}
