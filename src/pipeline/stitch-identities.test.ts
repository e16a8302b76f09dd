import { describe, expect, it } from 'vitest';
import { compileCorrections } from '../corrections/apply-corrections.js';
import { identityChain, planIdentityChanges, resolveCanonical, type IdentityGraph } from './stitch-identities.js';

describe('resolveCanonical', () => {
  it('follows links to the id that has none', () => {
    const links = new Map([
      ['anon-1', 'user-old'],
      ['user-old', 'user-new'],
    ]);
    expect(resolveCanonical('anon-1', links)).toBe('user-new');
    expect(resolveCanonical('user-new', links)).toBe('user-new');
    expect(resolveCanonical('stranger', links)).toBe('stranger');
  });

  it('resolves a cycle to its smallest id, whichever id we start from', () => {
    const links = new Map([
      ['b', 'c'],
      ['c', 'a'],
      ['a', 'b'],
    ]);
    expect(['a', 'b', 'c'].map((id) => resolveCanonical(id, links))).toEqual(['a', 'a', 'a']);
  });
});

function graph(links: Record<string, string>, persisted: Record<string, string>): IdentityGraph {
  return {
    async linkTargets(ids) {
      return new Map(ids.filter((id) => links[id] !== undefined).map((id) => [id, links[id]!]));
    },
    async linkSources(ids) {
      return Object.entries(links)
        .filter(([, to]) => ids.includes(to))
        .map(([from]) => from);
    },
    async canonicalOf(ids) {
      return new Map(ids.filter((id) => persisted[id] !== undefined).map((id) => [id, persisted[id]!]));
    },
  };
}

describe('planIdentityChanges', () => {
  it('moves an anonymous id to its user and marks both the old and new owner as affected', async () => {
    const plan = await planIdentityChanges(['anon-1'], graph({ 'anon-1': 'u1' }, { 'anon-1': 'anon-1' }));
    expect(plan.canonical.get('anon-1')).toBe('u1');
    expect([...plan.affectedUsers].sort()).toEqual(['anon-1', 'u1']);
  });

  it('carries ids linked to a re-aliased user along with it', async () => {
    const plan = await planIdentityChanges(['u-old'], graph({ 'anon-1': 'u-old', 'u-old': 'u-new' }, { 'anon-1': 'u-old', 'u-old': 'u-old' }));
    expect(plan.canonical.get('anon-1')).toBe('u-new');
    expect(plan.canonical.get('u-old')).toBe('u-new');
    expect([...plan.affectedUsers].sort()).toEqual(['u-new', 'u-old']);
  });
});

describe('identityChain', () => {
  it('lists the ids a winning link leads through, with steward overrides, and stops at a cycle', async () => {
    const links = graph({ 'anon-1': 'u-old', 'u-old': 'u-new', a: 'b', b: 'a' }, {});
    expect(await identityChain('anon-1', links)).toEqual(['anon-1', 'u-old', 'u-new']);
    expect(await identityChain('stranger', links)).toEqual(['stranger']);
    expect(await identityChain('a', links)).toEqual(['a', 'b']);
    const unmerged = compileCorrections([{ id: 'c1', change: { kind: 'unmerge_users', a: 'u-new', b: 'u-old' }, actor: 'x', reason: 'r', ticket: null, createdAt: 0 }]);
    expect(await identityChain('anon-1', links, unmerged)).toEqual(['anon-1', 'u-old']);
  });
});
