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
}
