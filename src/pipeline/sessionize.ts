import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import type { PipelineConfig, SessionMode } from '../config/config.js';
import { type CorrectionPlan, NO_CORRECTIONS } from '../corrections/apply-corrections.js';
import { ACTIVITY_TYPES, type StoredEvent } from '../domain/event.js';
import type { Session, SessionEvent } from '../domain/session.js';
import type { EventFacts } from './event-facts.js';

export type SessionizeDeps = Pick<PipelineConfig, 'sessionInactivityMs' | 'sessionMaxLengthMs' | 'splitAtMidnight' | 'timezone'> &
  Partial<Pick<PipelineConfig, 'sessionMode' | 'clientSessionMaxGapMs' | 'clientSessionIdPaths' | 'maxUsersPerAnonymousId'>>;

export interface UserSessions {
  sessions: Session[];
  events: SessionEvent[];
}

export const OVERLONG_SESSION_FLAG = 'overlong_session';
export const CLIENT_SESSION_REUSED_FLAG = 'client_session_reused';

/** Bumped when a mode's cutting rule changes; stored with each session as `<mode>@<version>`. */
export const SESSION_MODE_VERSIONS: Record<SessionMode, number> = { gap: 1, client: 1 };

export function sessionModeLabel(mode: SessionMode): string {
  return `${mode}@${SESSION_MODE_VERSIONS[mode]}`;
}

interface Group {
  events: StoredEvent[];
  flags: Set<string>;
}

/**
 * Cuts one stitched user's activity into sessions. Gap mode (the default): a new session after
 * more than the inactivity timeout, at the maximum length (the cut session is flagged, never
 * dropped), and optionally at midnight. Client mode: events carrying a client session id are
 * grouped by it, cut at the maximum length and where the id comes back after more than
 * client_session_max_gap (flagged `client_session_reused`); events without one are cut by the
 * gap among themselves. Events are sorted here by (time, message id), so the result does not
 * depend on the order they were read in. Steward corrections then apply: a forced split or
 * join at an event, and events moved to another session.
 */
export function createSessionize(deps: SessionizeDeps) {
  const dayOf = (epochMs: number) => DateTime.fromMillis(epochMs, { zone: deps.timezone }).toISODate();
  const mode: SessionMode = deps.sessionMode ?? 'gap';
  const clientMaxGapMs = deps.clientSessionMaxGapMs ?? 24 * 3_600_000;
  const modeLabel = sessionModeLabel(mode);

  /** Cuts events (sorted) into groups: `gapMs` apart starts a new group, flagged `gapFlag` when given. */
  function cut(sorted: readonly StoredEvent[], gapMs: number, gapFlag: string | null, corrections: CorrectionPlan, groups: Group[]): void {
    let current: Group | undefined;
    let start = 0;
    let last = 0;
    for (const event of sorted) {
      let startNew = current === undefined;
      let flagNew: string | null = null;
      if (current !== undefined) {
        if (event.eventTime - last > gapMs) {
          startNew = true;
          flagNew = gapFlag;
        } else if (event.eventTime - start >= deps.sessionMaxLengthMs) {
          startNew = true;
          if (!corrections.joinBefore.has(event.messageId)) current.flags.add(OVERLONG_SESSION_FLAG);
        } else if (deps.splitAtMidnight && dayOf(event.eventTime) !== dayOf(start)) startNew = true;
        if (corrections.splitBefore.has(event.messageId)) startNew = true;
        else if (corrections.joinBefore.has(event.messageId)) startNew = false;
      }
      if (startNew) {
        current = { events: [event], flags: new Set(flagNew === null ? [] : [flagNew]) };
        groups.push(current);
        start = event.eventTime;
      } else current!.events.push(event);
      last = event.eventTime;
    }
  }

  function sessionize(userId: string, input: readonly StoredEvent[], corrections: CorrectionPlan = NO_CORRECTIONS): UserSessions {
    const activity = input.filter((event) => ACTIVITY_TYPES.has(event.type)).sort(compareEvents);

    // 1. Natural boundaries, with forced splits and joins.
    const found: Group[] = [];
    if (mode === 'client') {
      const byClientId = new Map<string, StoredEvent[]>();
      const withoutId: StoredEvent[] = [];
      for (const event of activity) {
        const id = event.clientSessionId;
        if (id === null || id === undefined) withoutId.push(event);
        else {
          const list = byClientId.get(id);
          if (list) list.push(event);
          else byClientId.set(id, [event]);
        }
      }
      for (const events of byClientId.values()) cut(events, clientMaxGapMs, CLIENT_SESSION_REUSED_FLAG, corrections, found);
      cut(withoutId, deps.sessionInactivityMs, null, corrections, found);
      found.sort((a, b) => compareEvents(a.events[0]!, b.events[0]!));
    } else cut(activity, deps.sessionInactivityMs, null, corrections, found);
    const groups = found.map((group) => group.events);

    // 2. Moves: an event joins the session whose first event is the target.
    if (corrections.moves.size > 0) {
      const groupOfFirst = new Map(groups.map((group, index) => [group[0]!.messageId, index]));
      for (const [index, group] of groups.entries()) {
        for (const event of [...group]) {
          const target = corrections.moves.get(event.messageId);
          const targetIndex = target === undefined ? undefined : groupOfFirst.get(target);
          if (targetIndex === undefined || targetIndex === index) continue;
          group.splice(group.indexOf(event), 1);
          groups[targetIndex]!.push(event);
        }
      }
      for (const group of groups) group.sort(compareEvents);
    }

    // 3. Sessions from groups.
    const sessions: Session[] = [];
    const events: SessionEvent[] = [];
    groups.forEach((group, index) => {
      if (group.length === 0) return;
      const first = group[0]!;
      const lastEvent = group[group.length - 1]!;
      const sessionId = sessionIdFor(userId, first.messageId);
      const anonymousIds = new Set<string>();
      const appVersions = new Set<string>();
      for (const event of group) {
        if (event.anonymousId !== null) anonymousIds.add(event.anonymousId);
        if (event.appVersion !== null) appVersions.add(event.appVersion);
        events.push(sessionEventOf(event, userId, sessionId));
      }
      sessions.push({
        sessionId,
        userId,
        anonymousIds: [...anonymousIds].sort(),
        startedAt: first.eventTime,
        endedAt: lastEvent.eventTime,
        eventCount: group.length,
        firstEvent: first.event,
        lastEvent: lastEvent.event,
        firstMessageId: first.messageId,
        appVersions: [...appVersions].sort(),
        flags: [...found[index]!.flags].sort(),
        labels: [],
        mode: modeLabel,
      });
    });
    if (corrections.moves.size > 0) {
      sessions.sort((a, b) => a.startedAt - b.startedAt || (a.firstMessageId < b.firstMessageId ? -1 : 1));
      events.sort(compareEvents);
    }
    return { sessions, events };
  }
  /** What loaders attach to each event (EventFacts): client session ids in client mode, identity conflicts. */
  const facts: EventFacts = { clientSessionIdPaths: mode === 'client' ? (deps.clientSessionIdPaths ?? []) : null, maxUsersPerAnonymousId: deps.maxUsersPerAnonymousId ?? null };
  return Object.assign(sessionize, { mode, ...facts });
}

/** A stored event placed in a session of its user (the SQL derivation places them the same way). */
export function sessionEventOf(event: StoredEvent, userId: string, sessionId: string): SessionEvent {
  return {
    messageId: event.messageId,
    userId,
    anonymousId: event.anonymousId,
    sessionId,
    eventTime: event.eventTime,
    type: event.type,
    event: event.event,
    appVersion: event.appVersion,
    timeSource: event.timeSource,
    skewMs: event.skewMs,
    copies: event.copies,
    propertiesJson: event.propertiesJson,
    ...(event.anonymousIdUsers ? { anonymousIdUsers: event.anonymousIdUsers } : {}),
  };
}

export function compareEvents(a: { eventTime: number; messageId: string }, b: { eventTime: number; messageId: string }): number {
  return a.eventTime - b.eventTime || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0);
}

/** Deterministic: the same user and first event always give the same id, whichever run derived it. */
export function sessionIdFor(userId: string, firstMessageId: string): string {
  return createHash('sha256').update(userId).update('\u0000').update(firstMessageId).digest('hex').slice(0, 32);
}
