/** An anonymous id and the user ids accepted events carried with it, each with its first event time. */
export interface AnonymousIdUsers {
  anonymousId: string;
  /** Sorted by first event time, then user id. */
  users: Array<{ userId: string; firstAt: number }>;
}

/**
 * Identity links (written by the event log as events arrive; link precedence in
 * domain/precedence.ts) and the persisted canonical user of each id (written by derivation).
 */
export interface IdentityGraph {
  /** The winning identity link (earliest by event time, then message id) of each id that has one. */
  linkTargets(ids: readonly string[]): Promise<Map<string, string>>;
  /** Ids whose winning link points at one of `ids`. */
  linkSources(ids: readonly string[]): Promise<string[]>;
  /** The persisted canonical user of each id that has one. */
  canonicalOf(ids: readonly string[]): Promise<Map<string, string>>;
  /** Persisted members (ids) of each canonical user. */
  membersOf(userIds: readonly string[]): Promise<Map<string, string[]>>;
  saveCanonical(assignments: ReadonlyArray<{ id: string; canonicalId: string }>): Promise<void>;
  /**
   * Anonymous ids seen with at least `minUsers` distinct user ids on accepted events (identity
   * conflicts: a shared device, a login bug), all of them or only `anonymousIds`. Indexed by
   * anonymous id for the `anonymousIds` form (derivation asks it every round); without it, a scan.
   */
  anonymousIdUsers(options: { minUsers: number; anonymousIds?: readonly string[] }): Promise<AnonymousIdUsers[]>;
  /** 'scan': every anonymousIdUsers call reads the whole event log (ClickHouse raw stores), so a derive round asks once; absent: indexed. */
  readonly anonymousIdLookup?: 'scan';
}

/** Rows (anonymous id, user id, first time) into AnonymousIdUsers, keeping ids with at least minUsers users; sorted by anonymous id. */
export function groupAnonymousIdUsers(rows: Iterable<{ anonymousId: string; userId: string; firstAt: number }>, minUsers: number): AnonymousIdUsers[] {
  const byId = new Map<string, Map<string, number>>();
  for (const { anonymousId, userId, firstAt } of rows) {
    const users = byId.get(anonymousId) ?? byId.set(anonymousId, new Map()).get(anonymousId)!;
    const seen = users.get(userId);
    if (seen === undefined || firstAt < seen) users.set(userId, firstAt);
  }
  const out: AnonymousIdUsers[] = [];
  for (const [anonymousId, users] of byId) {
    if (users.size < minUsers) continue;
    const list = [...users].map(([userId, firstAt]) => ({ userId, firstAt })).sort((a, b) => a.firstAt - b.firstAt || (a.userId < b.userId ? -1 : 1));
    out.push({ anonymousId, users: list });
  }
  return out.sort((a, b) => (a.anonymousId < b.anonymousId ? -1 : 1));
}
