import { effectiveCorrections } from '../../domain/correction.js';
import { UsageError } from '../../errors.js';
import { linkKey } from '../plan.js';
import { defineCorrectionKind } from './kind.js';

export const mergeUsers = defineCorrectionKind<{ kind: 'merge_users'; from: string; into: string }>({
  kind: 'merge_users',
  cli: {
    command: 'merge-users',
    description: 'these ids are one person: merge <from> into <into>',
    arguments: [{ name: 'from' }, { name: 'into' }],
    build:
      ([from, into]) =>
      async (ports) => {
        if (from === into) throw new UsageError(`cannot merge user ${from} with itself`);
        const recorded = effectiveCorrections(ports.existing).find((c) => c.change.kind === 'merge_users' && c.change.from === from && c.change.into === into);
        if (recorded)
          throw new UsageError(`${from} is already merged into ${into} by ${recorded.id}`, {
            hint: `the next derive (\`journeyctl run\`) applies it if analytics do not show it yet; see \`journeyctl fix show ${recorded.id}\``,
          });
        const owners = await ports.canonicalOf([from!, into!]);
        if ((owners.get(from!) ?? from) === (owners.get(into!) ?? into)) throw new UsageError(`${from} and ${into} are already the same person (${owners.get(into!) ?? into})`);
        return { kind: 'merge_users', from: from!, into: into! };
      },
  },
  describe: (c) => `merge user ${c.from} into ${c.into}`,
  affects: async (c) => [c.from, c.into],
  touches: (c, view) => view.ids.has(c.from) || view.ids.has(c.into),
  touchesIds: (c, ids) => ids.has(c.from) || ids.has(c.into),
  compile(c, plan) {
    plan.forcedLinks.set(c.from, c.into);
    plan.blockedLinks.delete(linkKey(c.from, c.into));
  },
});
