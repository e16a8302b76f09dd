import { UsageError } from '../../errors.js';
import { linkKey } from '../plan.js';
import { defineCorrectionKind } from './kind.js';

/** The links of an identity chain up to (and into) `id`. */
function linksUpTo(chain: readonly string[], id: string): Array<[string, string]> {
  const links: Array<[string, string]> = [];
  for (let i = 0; chain[i] !== id; i += 1) links.push([chain[i]!, chain[i + 1]!]);
  return links;
}

export const unmergeUsers = defineCorrectionKind<{ kind: 'unmerge_users'; a: string; b: string }>({
  kind: 'unmerge_users',
  cli: {
    command: 'unmerge-users',
    description: 'these ids are different people: never link them',
    arguments: [{ name: 'a' }, { name: 'b' }],
    build:
      ([a, b]) =>
      async (ports) => {
        if (a === b) throw new UsageError(`cannot unmerge user ${a} from itself`);
        // The correction refuses the link between a and b. Joined through other ids, they would stay
        // one person, and which of those links is wrong is the steward's call: name them instead.
        const fromA = await ports.identityChain(a!);
        const fromB = await ports.identityChain(b!);
        const directlyLinked = fromA[1] === b || fromB[1] === a;
        const meeting = fromA.find((id) => fromB.includes(id));
        if (!directlyLinked && meeting !== undefined) {
          const links = [...linksUpTo(fromA, meeting), ...linksUpTo(fromB, meeting)];
          throw new UsageError(`${a} and ${b} are not linked to each other but are one person through ${links.map(([from, to]) => `${from} → ${to}`).join(', ')}`, {
            hint: `unmerge the wrong link instead, e.g. \`journeyctl fix unmerge-users ${links[0]![0]} ${links[0]![1]}\``,
          });
        }
        return { kind: 'unmerge_users', a: a!, b: b! };
      },
  },
  describe: (c) => `keep users ${c.a} and ${c.b} apart`,
  affects: async (c) => [c.a, c.b],
  touches: (c, view) => view.ids.has(c.a) || view.ids.has(c.b),
  touchesIds: (c, ids) => ids.has(c.a) || ids.has(c.b),
  compile(c, plan) {
    plan.blockedLinks.add(linkKey(c.a, c.b));
    if (plan.forcedLinks.get(c.a) === c.b) plan.forcedLinks.delete(c.a);
    if (plan.forcedLinks.get(c.b) === c.a) plan.forcedLinks.delete(c.b);
  },
});
