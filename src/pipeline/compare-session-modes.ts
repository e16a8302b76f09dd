import type { PipelineConfig } from '../config/config.js';
import type { StoredEvent } from '../domain/event.js';
import { createSessionize } from './sessionize.js';

/** One UTC day of the comparison: client sessions starting that day, and how many map to exactly one gap session. */
export interface ModeComparisonDay {
  day: string;
  clientSessions: number;
  exactlyOne: number;
  /** Client sessions whose events the gap spreads over several sessions (a background timeout, a reused id). */
  split: number;
  /** Client sessions sharing their only gap session with another client session (tabs, a renewed id). */
  merged: number;
  /** A few client session ids (as the tracker sent them) that do not map one-to-one. */
  sample: string[];
}

export type ModeComparisonDeps = Pick<PipelineConfig, 'sessionInactivityMs' | 'sessionMaxLengthMs' | 'splitAtMidnight' | 'timezone' | 'clientSessionMaxGapMs'>;

/**
 * Sessionizes users both ways and maps each client session (one whose events carry a client
 * session id) onto the gap sessions holding its events. Events need `clientSessionId` set. A
 * pure function of the events: the same set in any order gives the same counts.
 */
export function createModeComparison(deps: ModeComparisonDeps, sampleSize = 5) {
  const gap = createSessionize({ ...deps, sessionMode: 'gap' });
  const client = createSessionize({ ...deps, sessionMode: 'client' });
  const days = new Map<string, ModeComparisonDay>();

  return {
    add(userId: string, events: readonly StoredEvent[], range: { from?: number; to?: number } = {}): void {
      const gapOf = new Map(gap(userId, events).events.map((e) => [e.messageId, e.sessionId]));
      const clientOf = new Map(events.map((e) => [e.messageId, e.clientSessionId ?? null]));
      const derived = client(userId, events);
      const members = new Map<string, string[]>();
      for (const e of derived.events) {
        const list = members.get(e.sessionId);
        if (list) list.push(e.messageId);
        else members.set(e.sessionId, [e.messageId]);
      }
      const clientSessionsOfGap = new Map<string, Set<string>>();
      const gapSetOf = new Map<string, Set<string>>();
      for (const session of derived.sessions) {
        const ids = members.get(session.sessionId) ?? [];
        if (ids.length === 0 || clientOf.get(ids[0]!) === null) continue;
        const gaps = new Set(ids.map((id) => gapOf.get(id)!));
        gapSetOf.set(session.sessionId, gaps);
        for (const g of gaps) (clientSessionsOfGap.get(g) ?? clientSessionsOfGap.set(g, new Set()).get(g)!).add(session.sessionId);
      }
      for (const session of derived.sessions) {
        const gaps = gapSetOf.get(session.sessionId);
        if (gaps === undefined) continue;
        if ((range.from !== undefined && session.startedAt < range.from) || (range.to !== undefined && session.startedAt >= range.to)) continue;
        const day = new Date(session.startedAt).toISOString().slice(0, 10);
        const row = days.get(day) ?? days.set(day, { day, clientSessions: 0, exactlyOne: 0, split: 0, merged: 0, sample: [] }).get(day)!;
        row.clientSessions += 1;
        const only = gaps.size === 1 ? [...gaps][0]! : null;
        if (only !== null && clientSessionsOfGap.get(only)!.size === 1) row.exactlyOne += 1;
        else {
          if (only === null) row.split += 1;
          else row.merged += 1;
          if (row.sample.length < sampleSize) row.sample.push(clientOf.get(members.get(session.sessionId)![0]!)!);
        }
      }
    },
    /** Days in order; samples are the first found, so pass users in a fixed order. */
    result(): ModeComparisonDay[] {
      return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
    },
  };
}
