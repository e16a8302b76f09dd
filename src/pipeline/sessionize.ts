import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import type { PipelineConfig } from '../config/config.js';
import { ACTIVITY_TYPES, type StoredEvent } from '../domain/event.js';
import type { Session, SessionEvent } from '../domain/session.js';

export type SessionizeDeps = Pick<PipelineConfig, 'sessionInactivityMs' | 'sessionMaxLengthMs' | 'splitAtMidnight' | 'timezone'>;

export interface UserSessions {
  sessions: Session[];
  events: SessionEvent[];
}

export const OVERLONG_SESSION_FLAG = 'overlong_session';

/**
 * Cuts one stitched user's activity into sessions: a new session after more than the
 * inactivity timeout, at the maximum length (the cut session is flagged, never dropped),
 * and optionally at midnight. Events are sorted here by (time, message id), so the result
 * does not depend on the order they were read in.
 */
export function createSessionize(deps: SessionizeDeps) {
  const dayOf = (epochMs: number) => DateTime.fromMillis(epochMs, { zone: deps.timezone }).toISODate();

  return function sessionize(userId: string, input: readonly StoredEvent[]): UserSessions {
    const activity = input.filter((event) => ACTIVITY_TYPES.has(event.type)).sort(compareEvents);
    const sessions: Session[] = [];
    const events: SessionEvent[] = [];
    let current: Session | null = null;
    let anonymousIds = new Set<string>();
    let appVersions = new Set<string>();

    const close = () => {
      if (current === null) return;
      current.anonymousIds = [...anonymousIds].sort();
      current.appVersions = [...appVersions].sort();
      sessions.push(current);
      current = null;
    };

    for (const event of activity) {
      let startNew = current === null;
      if (current !== null) {
        if (event.eventTime - current.endedAt > deps.sessionInactivityMs) startNew = true;
        else if (event.eventTime - current.startedAt >= deps.sessionMaxLengthMs) {
          current.flags.push(OVERLONG_SESSION_FLAG);
          startNew = true;
        } else if (deps.splitAtMidnight && dayOf(event.eventTime) !== dayOf(current.startedAt)) startNew = true;
      }
      if (startNew) {
        close();
        anonymousIds = new Set();
        appVersions = new Set();
        current = {
          sessionId: sessionIdFor(userId, event.messageId),
          userId,
          anonymousIds: [],
          startedAt: event.eventTime,
          endedAt: event.eventTime,
          eventCount: 0,
          firstEvent: event.event,
          lastEvent: event.event,
          firstMessageId: event.messageId,
          appVersions: [],
          flags: [],
          labels: [],
        };
      }
      const session = current!;
      session.endedAt = event.eventTime;
      session.eventCount += 1;
      session.lastEvent = event.event;
      if (event.anonymousId !== null) anonymousIds.add(event.anonymousId);
      if (event.appVersion !== null) appVersions.add(event.appVersion);
      events.push({
        messageId: event.messageId,
        userId,
        anonymousId: event.anonymousId,
        sessionId: session.sessionId,
        eventTime: event.eventTime,
        type: event.type,
        event: event.event,
        appVersion: event.appVersion,
        timeSource: event.timeSource,
        skewMs: event.skewMs,
        propertiesJson: event.propertiesJson,
      });
    }
    close();
    return { sessions, events };
  };
}

export function compareEvents(a: StoredEvent, b: StoredEvent): number {
  return a.eventTime - b.eventTime || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0);
}

/** Deterministic: the same user and first event always give the same id, whichever run derived it. */
export function sessionIdFor(userId: string, firstMessageId: string): string {
  return createHash('sha256').update(userId).update('\u0000').update(firstMessageId).digest('hex').slice(0, 32);
}
