import { type CorrectionPlan, correctLinks, NO_CORRECTIONS } from '../corrections/apply-corrections.js';
import type { RawStore } from '../stores/raw-store.js';

/** The parts of the raw store identity resolution reads. */
export type IdentityGraph = Pick<RawStore, 'linkTargets' | 'linkSources' | 'canonicalOf'>;

const MAX_CHAIN = 32;

/**
 * Follows each id's winning link (earliest by event time, then message id) to an id with no
 * link: that is the person. A cycle (a aliased to b, b to a) resolves to its smallest id, so
 * the answer never depends on which link was stored first.
 */
export function resolveCanonical(id: string, links: ReadonlyMap<string, string>): string {
  const path: string[] = [id];
  let current = id;
  for (let step = 0; step < MAX_CHAIN; step += 1) {
    const next = links.get(current);
    if (next === undefined) return current;
    const seen = path.indexOf(next);
    if (seen >= 0) return path.slice(seen).sort()[0]!;
    path.push(next);
    current = next;
  }
  return current;
}

/**
 * The ids an id's winning links lead through, after steward overrides: `[id, …, person]`. A
 * cycle stops before it repeats an id. Lets a steward see which link joins two ids.
 */
export async function identityChain(id: string, graph: Pick<IdentityGraph, 'linkTargets'>, corrections: CorrectionPlan = NO_CORRECTIONS): Promise<string[]> {
  const chain = [id];
  for (let step = 0; step < MAX_CHAIN; step += 1) {
    const last = chain[chain.length - 1]!;
    const next = correctLinks(corrections, await graph.linkTargets([last])).get(last);
    if (next === undefined || chain.includes(next)) break;
    chain.push(next);
  }
  return chain;
}

export interface IdentityPlan {
  /** New canonical user of every id looked at (changed or not). */
  canonical: Map<string, string>;
  /** Persisted canonical user before this plan, where one existed. */
  previous: Map<string, string>;
  /** Users whose derived data must be rebuilt: old and new owners of every id looked at. */
  affectedUsers: Set<string>;
}

/**
 * Works out who each dirty id belongs to now, including ids that reach a dirty id through
 * their links (an anonymous id linked to a user who was just aliased moves with that user).
 */
export async function planIdentityChanges(dirtyIds: readonly string[], graph: IdentityGraph, corrections: CorrectionPlan = NO_CORRECTIONS): Promise<IdentityPlan> {
  const involved = new Set(dirtyIds);
  let frontier = [...involved];
  while (frontier.length > 0) {
    const frontierSet = new Set(frontier);
    const forcedSources = [...corrections.forcedLinks].filter(([, into]) => frontierSet.has(into)).map(([from]) => from);
    const sources = [...(await graph.linkSources(frontier)), ...forcedSources];
    frontier = [...new Set(sources)].filter((id) => !involved.has(id));
    for (const id of frontier) involved.add(id);
  }

  let links = new Map<string, string>();
  let unresolved = [...involved];
  const fetched = new Set<string>();
  for (let round = 0; round < MAX_CHAIN && unresolved.length > 0; round += 1) {
    for (const id of unresolved) fetched.add(id);
    // Steward overrides apply as each round's links arrive, so a forced link's target is followed too.
    const targets = correctLinks(corrections, await graph.linkTargets(unresolved));
    for (const id of unresolved) {
      const forced = corrections.forcedLinks.get(id);
      if (forced !== undefined) targets.set(id, forced);
    }
    const asked = new Set(unresolved);
    const next: string[] = [];
    for (const [from, to] of targets) {
      if (!asked.has(from)) continue;
      links.set(from, to);
      if (!fetched.has(to)) next.push(to);
    }
    unresolved = [...new Set(next)];
  }
  links = correctLinks(corrections, links);

  const ids = [...involved];
  const previous = await graph.canonicalOf(ids);
  const canonical = new Map<string, string>();
  const affectedUsers = new Set<string>();
  for (const id of ids) {
    const owner = resolveCanonical(id, links);
    canonical.set(id, owner);
    affectedUsers.add(owner);
    const before = previous.get(id);
    if (before !== undefined) affectedUsers.add(before);
  }
  return { canonical, previous, affectedUsers };
}
