import type { Finding, FindingKind, FunnelOutcome } from '../../domain/journey.js';
import type { Session, SessionEvent } from '../../domain/session.js';
import { type SessionDetail, type UserSessions, userSessionsOf } from '../ports/derived-reader.js';
import type { UserDerivation } from '../ports/derived-writes.js';
import type { TableSpec } from './schema.js';

/** A row as it travels between TS and SQL: spec column order, times as epoch ms. */
export type Row = Record<string, unknown>;

export interface Mapper<T> {
  toRow(item: T): Row;
  fromRow(row: Row): T;
}

export const sessionMapper: Mapper<Session> = {
  toRow: (s) => ({
    user_id: s.userId,
    started_at: s.startedAt,
    session_id: s.sessionId,
    ended_at: s.endedAt,
    anonymous_ids: s.anonymousIds,
    event_count: s.eventCount,
    first_event: s.firstEvent,
    last_event: s.lastEvent,
    first_message_id: s.firstMessageId,
    app_versions: s.appVersions,
    flags: s.flags,
    labels: s.labels,
    session_mode: s.mode ?? 'gap@1',
  }),
  fromRow: (r) => ({
    sessionId: r.session_id as string,
    userId: r.user_id as string,
    anonymousIds: r.anonymous_ids as string[],
    startedAt: Number(r.started_at),
    endedAt: Number(r.ended_at),
    eventCount: Number(r.event_count),
    firstEvent: r.first_event as string,
    lastEvent: r.last_event as string,
    firstMessageId: r.first_message_id as string,
    appVersions: r.app_versions as string[],
    flags: r.flags as string[],
    labels: r.labels as string[],
    mode: r.session_mode as string,
  }),
};

export const eventMapper: Mapper<SessionEvent> = {
  toRow: (e) => ({
    user_id: e.userId,
    event_time: e.eventTime,
    message_id: e.messageId,
    session_id: e.sessionId,
    anonymous_id: e.anonymousId ?? '',
    type: e.type,
    event: e.event,
    app_version: e.appVersion ?? '',
    time_source: e.timeSource,
    skew_ms: e.skewMs,
    properties: e.propertiesJson,
  }),
  fromRow: (r) => ({
    messageId: r.message_id as string,
    userId: r.user_id as string,
    anonymousId: r.anonymous_id === '' ? null : (r.anonymous_id as string),
    sessionId: r.session_id as string,
    eventTime: Number(r.event_time),
    type: r.type as string,
    event: r.event as string,
    appVersion: r.app_version === '' ? null : (r.app_version as string),
    timeSource: r.time_source as SessionEvent['timeSource'],
    skewMs: Number(r.skew_ms),
    propertiesJson: r.properties as string,
  }),
};

export const findingMapper: Mapper<Finding> = {
  toRow: (f) => ({
    user_id: f.userId,
    started_at: f.startedAt,
    session_id: f.sessionId,
    kind: f.kind,
    name: f.name,
    rule_version: f.ruleVersion,
    detail: f.detail,
    evidence: f.evidence,
  }),
  fromRow: (r) => ({
    kind: r.kind as FindingKind,
    name: r.name as string,
    ruleVersion: Number(r.rule_version),
    userId: r.user_id as string,
    sessionId: r.session_id as string,
    startedAt: Number(r.started_at),
    detail: r.detail as string,
    evidence: r.evidence as string[],
  }),
};

export const funnelMapper: Mapper<FunnelOutcome & { flagged?: boolean }> = {
  toRow: (o) => ({
    user_id: o.userId,
    started_at: o.startedAt,
    scope: o.scope,
    subject_id: o.subjectId,
    funnel: o.funnel,
    steps_reached: o.stepsReached,
    total_steps: o.totalSteps,
    converted: o.converted ? 1 : 0,
    flagged: o.flagged ? 1 : 0,
    evidence: o.evidence,
  }),
  fromRow: (r) => ({
    scope: r.scope as FunnelOutcome['scope'],
    subjectId: r.subject_id as string,
    userId: r.user_id as string,
    funnel: r.funnel as string,
    startedAt: Number(r.started_at),
    stepsReached: Number(r.steps_reached),
    totalSteps: Number(r.total_steps),
    converted: Number(r.converted) === 1,
    evidence: r.evidence as string[],
  }),
};

/** Rows compare by content: every column in spec order, numbers as numbers. */
export function canonicalJson(spec: TableSpec, row: Row): string {
  return JSON.stringify(spec.columns.map(([name]) => (typeof row[name] === 'bigint' ? Number(row[name]) : row[name])));
}

/** Funnel outcomes carry whether their session (or, user scope, any of the user's sessions) is flagged. */
export function withFlagged(derivation: UserDerivation): Array<FunnelOutcome & { flagged: boolean }> {
  const flaggedSessions = new Set(derivation.sessions.filter((s) => s.flags.length > 0).map((s) => s.sessionId));
  const flaggedUsers = new Set(derivation.sessions.filter((s) => s.flags.length > 0).map((s) => s.userId));
  return derivation.funnelOutcomes.map((o) => ({ ...o, flagged: o.scope === 'session' ? flaggedSessions.has(o.subjectId) : flaggedUsers.has(o.userId) }));
}

/** Reads one user's rows of a table (the user bound by the reader), `where` and `order` in the engine's SQL. */
export type UserRowReader = <T>(table: TableSpec['name'], mapper: Mapper<T>, where: string, order: string) => Promise<T[]>;

/** sessionDetail once its session is found, in any engine's SQL: `id` is how that SQL names the bound session id. */
export async function readSessionDetail(read: UserRowReader, session: Session, id: string): Promise<SessionDetail> {
  return {
    session,
    events: await read('events', eventMapper, `session_id = ${id}`, 'event_time, message_id'),
    findings: await read('findings', findingMapper, `session_id = ${id}`, 'kind, name'),
    funnelOutcomes: await read('funnel_outcomes', funnelMapper, `(scope = 'session' AND subject_id = ${id}) OR scope = 'user'`, 'scope, funnel'),
  };
}

/** sessionsOfUser in any engine's SQL: `all` is a condition true of every row. */
export async function readUserSessions(read: UserRowReader, all: string): Promise<UserSessions> {
  return userSessionsOf({
    sessions: await read('sessions', sessionMapper, all, 'started_at, session_id'),
    events: await read('events', eventMapper, all, 'event_time, message_id'),
    findings: await read('findings', findingMapper, all, 'session_id, kind, name'),
    sessionOutcomes: await read('funnel_outcomes', funnelMapper, "scope = 'session'", 'subject_id, funnel'),
    userOutcomes: await read('funnel_outcomes', funnelMapper, "scope = 'user'", 'funnel, started_at'),
  });
}
