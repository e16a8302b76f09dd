import { type IdentityLink, isEarlierLink } from '../../domain/precedence.js';
import { type AnonymousIdUsers, groupAnonymousIdUsers, type IdentityGraph } from '../ports/identity-graph.js';
import { bulkUpdate, CAS_ROUNDS, chunks, findByIds, guard, IN_CHUNK, insertNew, KNOWN_LINKS_MAX, type MongoContext, saveChanged } from './mongo-context.js';
import type { Doc } from './mongo-tail.js';

/** The stored link of each of these from-ids that has one. */
export async function readLinks(ctx: MongoContext, ids: readonly string[]): Promise<Map<string, IdentityLink>> {
  const links = new Map<string, IdentityLink>();
  for (const chunk of chunks(ids, IN_CHUNK)) {
    for (const doc of await findByIds(ctx, ctx.c.links, chunk)) {
      links.set(doc._id as string, { to: doc.to as string, time: doc.eventTime as number, messageId: doc.messageId as string });
    }
  }
  for (const [from, link] of links) knowLink(ctx, from, link);
  return links;
}

/** Notes a link as stored, or replaced by an earlier one (see MongoContext.knownLinks). */
function knowLink(ctx: MongoContext, from: string, link: IdentityLink): void {
  const known = ctx.knownLinks.get(from);
  if (known !== undefined && !isEarlierLink(link, known)) return;
  if (known === undefined && ctx.knownLinks.size >= KNOWN_LINKS_MAX) ctx.knownLinks.clear();
  ctx.knownLinks.set(from, link);
}

/** The earliest link per from-id wins (domain/precedence.ts): insert-if-absent, else compare-and-swap when ours is earlier. */
export async function writeLinks(ctx: MongoContext, batchLinks: Map<string, IdentityLink>): Promise<void> {
  // A link no earlier than one known stored loses to what is stored: most of a stream's links are repeats.
  const links = new Map(
    [...batchLinks].filter(([from, link]) => {
      const known = ctx.knownLinks.get(from);
      return known === undefined || isEarlierLink(link, known);
    }),
  );
  if (links.size === 0) return;
  const docs: Doc[] = [...links].map(([from, link]) => ({ _id: from, to: link.to, eventTime: link.time, messageId: link.messageId }));
  let pending = [...(await insertNew(ctx.c.links, docs))];
  for (let round = 0; pending.length > 0; round += 1) {
    if (round === CAS_ROUNDS) throw new Error(`identity links ${pending.slice(0, 3).join(', ')} kept changing under concurrent writers`);
    const stored = await readLinks(ctx, pending);
    const swaps = pending.flatMap((from) => {
      const now = stored.get(from);
      const mine = links.get(from)!;
      return now && isEarlierLink(mine, now) ? [{ from, now, mine }] : [];
    });
    await bulkUpdate(
      ctx.c.links,
      swaps.map(({ from, now, mine }) => ({
        updateOne: { filter: { _id: from, eventTime: now.time, messageId: now.messageId }, update: { $set: { to: mine.to, eventTime: mine.time, messageId: mine.messageId } } },
      })),
    );
    // A swap that matched nothing met a concurrent change: compare again with what is stored now.
    const after = await readLinks(
      ctx,
      swaps.map((swap) => swap.from),
    );
    pending = swaps.filter(({ from, mine }) => after.get(from)?.messageId !== mine.messageId).map((swap) => swap.from);
  }
  // Each link is stored now, or an earlier one is.
  for (const [from, link] of links) knowLink(ctx, from, link);
}

export function createMongoIdentityGraph(ctx: MongoContext): IdentityGraph {
  const { c } = ctx;
  return {
    async anonymousIdUsers({ minUsers, anonymousIds }): Promise<AnonymousIdUsers[]> {
      return guard(ctx, 'read anonymous ids with several users', async () => {
        const pairs = new Map<string, { anonymousId: string; userId: string; firstAt: number }>();
        const read = async (match: Record<string, unknown>) => {
          // Grouped here, not by $group: FerretDB has no $min accumulator.
          const cursor = c.events.find({ anonymousId: { $type: 'string' }, userId: { $type: 'string' }, ...match }, { projection: { _id: 0, anonymousId: 1, userId: 1, eventTime: 1 } });
          for await (const doc of cursor) {
            // One row per (anonymous id, user id), the earliest time kept: memory follows pairs, not events.
            const key = `${doc.anonymousId as string}\u0000${doc.userId as string}`;
            const firstAt = Number(doc.eventTime);
            const seen = pairs.get(key);
            if (seen === undefined) pairs.set(key, { anonymousId: doc.anonymousId as string, userId: doc.userId as string, firstAt });
            else if (firstAt < seen.firstAt) seen.firstAt = firstAt;
          }
        };
        if (anonymousIds === undefined) await read({});
        else for (const chunk of chunks(anonymousIds, IN_CHUNK)) await read({ anonymousId: { $in: chunk } });
        return groupAnonymousIdUsers(pairs.values(), minUsers);
      });
    },
    async linkTargets(ids) {
      return guard(ctx, 'read identity links', async () => {
        const targets = new Map<string, string>();
        for (const [from, link] of await readLinks(ctx, ids)) targets.set(from, link.to);
        return targets;
      });
    },
    async linkSources(ids) {
      return guard(ctx, 'read identity links', async () => {
        const sources: string[] = [];
        for (const chunk of chunks(ids, IN_CHUNK)) {
          for (const doc of await c.links.find({ to: { $in: chunk } }, { projection: { _id: 1 } }).toArray()) sources.push(doc._id as string);
        }
        return sources;
      });
    },
    async canonicalOf(ids) {
      return guard(ctx, 'read the identity map', async () => {
        const canonical = new Map<string, string>();
        for (const chunk of chunks(ids, IN_CHUNK)) {
          for (const doc of await findByIds(ctx, c.identityMap, chunk)) canonical.set(doc._id as string, doc.canonical as string);
        }
        return canonical;
      });
    },
    async membersOf(userIds) {
      return guard(ctx, 'read the identity map', async () => {
        const members = new Map<string, string[]>();
        for (const chunk of chunks(userIds, IN_CHUNK)) {
          for (const doc of await c.identityMap.find({ canonical: { $in: chunk } }).toArray()) {
            const list = members.get(doc.canonical as string);
            if (list) list.push(doc._id as string);
            else members.set(doc.canonical as string, [doc._id as string]);
          }
        }
        return members;
      });
    },
    async saveCanonical(assignments) {
      const wanted = new Map<string, string>();
      for (const { id, canonicalId } of assignments) wanted.set(id, canonicalId);
      await guard(ctx, 'save the identity map', () => saveChanged(ctx, c.identityMap, wanted, 'canonical'));
    },
  };
}
