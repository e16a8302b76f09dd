import type { RejectedLine } from '../../../domain/event.js';
import { type IdentityLink, isEarlierCopy, noteLinksOf } from '../../../domain/precedence.js';
import type { EncodedEvent, WriteBatchResult } from '../../ports/event-log.js';

/** What the store holds of a message id that a batch carries again. */
export interface StoredCopy {
  receivedAt: number;
  rawHash: string;
  identityKey: string;
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  seq: number;
}

/** What a batch changes, decided before anything is written. */
export interface BatchPlan {
  result: WriteBatchResult;
  /** Ids whose users must be derived again. */
  dirty: Set<string>;
  links: Map<string, IdentityLink>;
  /** The copy to store of each message id the batch changes, and the seq to store it under (a replaced row keeps its place). */
  rows: Array<{ event: EncodedEvent; seq: number | null }>;
  /** Message ids whose stored row loses to a row of this batch (deleted once the winner is in). */
  replacedStored: string[];
  /** (message id, line hash) pairs new to raw_copies. */
  copies: Array<[messageId: string, rawHash: string]>;
  rejected: RejectedLine[];
}

/**
 * The effects of one batch, as the embedded SQLite store's transaction has them for the same
 * lines in the same order (ADR 0011): each line in turn is new, replaces the current copy (it was
 * received earlier), or is a duplicate; a distinct line of a known message id is a copy, and a new
 * copy marks the ids the current copy is filed under dirty. `stored` and `knownCopies` hold what
 * the store has of the batch's message ids, `knownRejected` the batch's rejected hashes it has.
 */
export function planBatch(
  accepted: readonly EncodedEvent[],
  rejected: readonly RejectedLine[],
  stored: ReadonlyMap<string, StoredCopy>,
  knownCopies: ReadonlyMap<string, ReadonlySet<string>>,
  knownRejected: ReadonlySet<string>,
): BatchPlan {
  const result: WriteBatchResult = { inserted: 0, replaced: 0, duplicates: 0, rejected: 0, rejectedDuplicates: 0 };
  const dirty = new Set<string>();
  const links = new Map<string, IdentityLink>();
  const current = new Map<string, { event: EncodedEvent | null; copy: StoredCopy | EncodedEvent }>();
  const copies = new Map<string, Set<string>>();
  const newCopies: Array<[string, string]> = [];
  const markFiledUnder = (c: { identityKey: string; userId: string | null; anonymousId: string | null; previousId: string | null }) => {
    for (const id of [c.identityKey, c.userId, c.anonymousId, c.previousId]) if (id) dirty.add(id);
  };

  for (const event of accepted) {
    const id = event.messageId;
    let now = current.get(id);
    if (now === undefined) {
      const copy = stored.get(id);
      if (copy !== undefined) current.set(id, (now = { event: null, copy }));
    }
    if (now === undefined) {
      current.set(id, { event, copy: event });
      result.inserted += 1;
    } else {
      if (now.copy.rawHash !== event.rawHash) {
        let hashes = copies.get(id);
        if (hashes === undefined) copies.set(id, (hashes = new Set(knownCopies.get(id))));
        let added = false;
        for (const hash of [now.copy.rawHash, event.rawHash]) {
          if (hashes.has(hash)) continue;
          hashes.add(hash);
          newCopies.push([id, hash]);
          added = true;
        }
        if (added) markFiledUnder(now.copy);
      }
      if (!isEarlierCopy(event, now.copy)) {
        result.duplicates += 1;
        continue;
      }
      result.replaced += 1;
      markFiledUnder(now.copy);
      current.set(id, { event, copy: event });
    }
    dirty.add(event.identityKey);
    if (event.anonymousId) dirty.add(event.anonymousId);
    if (event.previousId) dirty.add(event.previousId);
    noteLinksOf(links, event);
  }

  const rows: BatchPlan['rows'] = [];
  const replacedStored: string[] = [];
  for (const [id, now] of current) {
    if (now.event === null) continue;
    const before = stored.get(id);
    if (before !== undefined) replacedStored.push(id);
    rows.push({ event: now.event, seq: before?.seq ?? null });
  }

  const newRejected: RejectedLine[] = [];
  const seen = new Set(knownRejected);
  for (const line of rejected) {
    if (seen.has(line.rawHash)) {
      result.rejectedDuplicates += 1;
      continue;
    }
    seen.add(line.rawHash);
    newRejected.push(line);
    result.rejected += 1;
  }
  return { result, dirty, links, rows, replacedStored, copies: newCopies, rejected: newRejected };
}
