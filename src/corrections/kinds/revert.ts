import type { Correction } from '../../domain/correction.js';
import { UsageError } from '../../errors.js';
import { defineCorrectionKind } from './kind.js';

/** Checks a revert target: it exists, is not itself a revert, and is not reverted yet. */
export function checkRevert(targetId: string, existing: readonly Correction[]): Correction {
  const target = existing.find((c) => c.id === targetId);
  if (!target) throw new UsageError(`no correction ${targetId}`, { hint: 'list them with `journeyctl fix list`' });
  if (target.change.kind === 'revert') throw new UsageError(`${targetId} is itself a revert; make the original correction again instead`);
  if (existing.some((c) => c.change.kind === 'revert' && c.change.target === targetId)) throw new UsageError(`${targetId} is already reverted`);
  return target;
}

/** Undoes a correction: effectiveCorrections leaves both out, so the result equals never having applied it. */
export const revert = defineCorrectionKind<{ kind: 'revert'; target: string }>({
  kind: 'revert',
  cli: {
    command: 'revert',
    description: 'undo a correction (itself recorded); the result equals never having applied it',
    arguments: [{ name: 'correction-id' }],
    build:
      ([target]) =>
      async (ports) => {
        checkRevert(target!, ports.existing);
        return { kind: 'revert', target: target! };
      },
  },
  describe: (c) => `revert ${c.target}`,
  async affects(c, ports, existing) {
    const target = existing.find((x) => x.id === c.target);
    if (!target) throw new UsageError(`no correction ${c.target}`, { hint: 'list them with `journeyctl fix list`' });
    return ports.affectsOf(target.change);
  },
  touches: () => false,
});
