import type { Session } from '../../src/domain/session.js';

/** Everything an async iterable yields, in order (reading a stream whole in a test). */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** A bare session of `userId` named `${userId}/s${index}`: no ids, flags or labels, ended when it started, its first event `/m0`. */
export function bareSession(userId: string, index: number, startedAt: number, eventCount: number): Session {
  const sessionId = `${userId}/s${index}`;
  return {
    sessionId,
    userId,
    anonymousIds: [],
    startedAt,
    endedAt: startedAt,
    eventCount,
    firstEvent: 'page_viewed',
    lastEvent: 'page_viewed',
    firstMessageId: `${sessionId}/m0`,
    appVersions: [],
    flags: [],
    labels: [],
  };
}
