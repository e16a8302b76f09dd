import { rawEncodingOf } from '../domain/damaged-line.js';
import type { RejectedLine } from '../domain/event.js';
import { describeChange } from '../corrections/kinds/registry.js';
import type { Correction } from '../domain/correction.js';
import type { Finding, FunnelOutcome } from '../domain/journey.js';
import type { Profile } from '../domain/profile.js';
import type { Session, SessionEvent } from '../domain/session.js';
import { formatIsoUtc } from '../domain/time.js';
import type { ReleaseBurst } from '../journeys/release-bursts.js';

/** The exported shapes: snake_case, ISO-8601 UTC times with milliseconds, stable key order. */

export function sessionRecord(session: Session): Record<string, unknown> {
  return {
    session_id: session.sessionId,
    user_id: session.userId,
    anonymous_ids: session.anonymousIds,
    started_at: formatIsoUtc(session.startedAt),
    ended_at: formatIsoUtc(session.endedAt),
    duration_ms: session.endedAt - session.startedAt,
    event_count: session.eventCount,
    first_event: session.firstEvent,
    last_event: session.lastEvent,
    app_versions: session.appVersions,
    flags: session.flags,
    labels: session.labels,
  };
}

/** The fields an event's record starts with, in export and tail alike. */
export function eventCoreFields(
  event: { eventTime: number; userId: string | null; anonymousId: string | null; event: string; type: string; messageId: string; appVersion: string | null },
  sessionId: string | null,
): Record<string, unknown> {
  return {
    event_time: formatIsoUtc(event.eventTime),
    session_id: sessionId,
    user_id: event.userId,
    anonymous_id: event.anonymousId,
    event: event.event,
    type: event.type,
    message_id: event.messageId,
    app_version: event.appVersion,
  };
}

export function eventRecord(event: SessionEvent): Record<string, unknown> {
  return {
    ...eventCoreFields(event, event.sessionId),
    time_source: event.timeSource,
    clock_skew_ms: event.skewMs,
    properties: JSON.parse(event.propertiesJson) as unknown,
  };
}

export function rejectedRecord(line: RejectedLine): Record<string, unknown> {
  return {
    received_at: formatIsoUtc(line.receivedAt),
    reason: line.reason,
    detail: line.detail,
    message_id: line.messageId,
    event: line.event,
    app_version: line.appVersion,
    raw: line.raw,
    // base64 for a line that was not UTF-8 (invalid_utf8): decoding it gives the bytes as read.
    raw_encoding: rawEncodingOf(line.reason),
  };
}

export function profileRecord(profile: Profile): Record<string, unknown> {
  return {
    user_id: profile.userId,
    identified: profile.identified,
    anonymous_ids: profile.anonymousIds,
    traits: profile.traits,
    first_seen: formatIsoUtc(profile.firstSeen),
    last_seen: formatIsoUtc(profile.lastSeen),
    event_count: profile.eventCount,
    session_count: profile.sessionCount,
  };
}

/** A correction as people read it in explain, inspect and audit: who, when, what, why, and what reverted it. */
export interface CorrectionRecord {
  id: string;
  at: string;
  actor: string;
  description: string;
  reason: string;
  ticket: string | null;
  reverted_by: string | null;
}

export function correctionRecord(correction: Correction & { revertedBy: string | null }): CorrectionRecord {
  return {
    id: correction.id,
    at: formatIsoUtc(correction.createdAt),
    actor: correction.actor,
    description: describeChange(correction.change),
    reason: correction.reason,
    ticket: correction.ticket,
    reverted_by: correction.revertedBy,
  };
}

/** Epoch-ms fields of a correction's change (event filters' bounds), shown as ISO-8601 UTC. */
const CHANGE_TIME_KEYS = new Set(['since', 'until', 'createdAt', 'startedAt']);

/** Camel-case keys to the snake_case every record uses, epoch-ms times to ISO-8601, at any depth. */
export function snakeCaseRecord(value: unknown, key = ''): unknown {
  if (typeof value === 'number' && CHANGE_TIME_KEYS.has(key)) return formatIsoUtc(value);
  if (Array.isArray(value)) return value.map((item) => snakeCaseRecord(item));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCaseRecord(inner, name)]));
}

/** A correction in full (`fix show`, `fix list`, what a fix command recorded): the fields of correctionRecord, the action and the change. */
export function correctionDetailRecord(correction: Correction, revertedBy: string | null): Record<string, unknown> {
  return { ...correctionRecord({ ...correction, revertedBy }), action: correction.change.kind, change: snakeCaseRecord(correction.change) };
}

export function findingRecord(finding: Finding): Record<string, unknown> {
  return {
    session_id: finding.sessionId,
    user_id: finding.userId,
    started_at: formatIsoUtc(finding.startedAt),
    kind: finding.kind,
    name: finding.name,
    rule_version: finding.ruleVersion,
    detail: finding.detail,
    evidence: finding.evidence,
  };
}

export function funnelOutcomeRecord(outcome: FunnelOutcome): Record<string, unknown> {
  return {
    scope: outcome.scope,
    subject_id: outcome.subjectId,
    user_id: outcome.userId,
    funnel: outcome.funnel,
    started_at: formatIsoUtc(outcome.startedAt),
    steps_reached: outcome.stepsReached,
    total_steps: outcome.totalSteps,
    outcome: outcome.converted ? 'converted' : outcome.stepsReached === 0 ? 'not_entered' : `dropped_after_step_${outcome.stepsReached}`,
    evidence: outcome.evidence,
  };
}

/** A release burst as `export bursts` and `report` show it. */
export function burstRecord(burst: ReleaseBurst): Record<string, unknown> {
  return {
    app_version: burst.appVersion,
    window_start: formatIsoUtc(burst.windowStart),
    window_end: formatIsoUtc(burst.windowEnd),
    lines: burst.accepted + burst.rejected,
    accepted: burst.accepted,
    rejected: burst.rejected,
    share: Math.round(burst.share * 10_000) / 10_000,
    baseline: Math.round(burst.baseline * 10_000) / 10_000,
    top_reasons: burst.reasons.slice(0, 5).map((r) => `${r.reason} ${r.lines}`),
  };
}
