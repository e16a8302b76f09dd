export interface DirtyId {
  id: string;
  /** Marking generation: only this generation is cleared, so a re-mark by a concurrent writer survives. */
  mark: number;
}

/** Ids whose users must be re-derived: marked by writes and corrections, cleared by derivation. */
export interface DirtyQueue {
  listDirtyIds(limit: number): Promise<DirtyId[]>;
  /** Marks ids so the next derive re-derives their users (a steward correction touched them). */
  markDirty(ids: readonly string[]): Promise<void>;
  clearDirtyIds(ids: readonly DirtyId[]): Promise<void>;
}
