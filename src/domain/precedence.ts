/**
 * Which stored copy and which identity link win. Every raw-store adapter applies these rules
 * (an engine may also spell them in its query language, e.g. SQLite's upsert of a link, but the
 * rule is this one); why the earliest-received copy wins: docs/decisions/0011-dedup-precedence.md.
 */

/** The fields that order two copies of one message id. */
export interface CopyOrder {
  receivedAt: number;
  rawHash: string;
}

/**
 * Dedup: the earlier-received copy wins; on a tie the smaller line hash, so the winner never
 * depends on arrival order. True when `a` beats `b`.
 */
export function isEarlierCopy(a: CopyOrder, b: CopyOrder): boolean {
  return a.receivedAt < b.receivedAt || (a.receivedAt === b.receivedAt && a.rawHash < b.rawHash);
}

/** An identity link from one id to a user id, made by the event `messageId` at event time `time`. */
export interface IdentityLink {
  to: string;
  time: number;
  messageId: string;
}

/** Link precedence: the earliest link (by event time, then message id) of an id wins. True when `a` beats `b`. */
export function isEarlierLink(a: IdentityLink, b: IdentityLink): boolean {
  return a.time < b.time || (a.time === b.time && a.messageId < b.messageId);
}

/** Keeps the winning link per from-id in `links`; a link of an id to itself is no link. */
export function noteLink(links: Map<string, IdentityLink>, from: string, link: IdentityLink): void {
  if (from === link.to) return;
  const known = links.get(from);
  if (!known || isEarlierLink(link, known)) links.set(from, link);
}

/** The links an event makes: its anonymousId and its previousId (alias) each point at its userId. */
export function noteLinksOf(links: Map<string, IdentityLink>, event: { userId: string | null; anonymousId: string | null; previousId: string | null; eventTime: number; messageId: string }): void {
  if (!event.userId) return;
  if (event.anonymousId) noteLink(links, event.anonymousId, { to: event.userId, time: event.eventTime, messageId: event.messageId });
  if (event.previousId) noteLink(links, event.previousId, { to: event.userId, time: event.eventTime, messageId: event.messageId });
}
