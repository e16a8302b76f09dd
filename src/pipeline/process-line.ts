import { createHash } from 'node:crypto';
import type { PipelineConfig, TrackingPlan } from '../config/config.js';
import type { AcceptedEvent, RawEventInput, RejectedLine } from '../domain/event.js';
import { createCheckTrackingPlan } from './check-tracking-plan.js';
import { createCorrectClockSkew } from './correct-clock-skew.js';
import { createParseLine } from './parse-line.js';
import { validateEvent } from './validate-event.js';
import { parseEventTimestamp } from '../domain/time.js';

export type LineOutcome = { ok: true; event: AcceptedEvent } | { ok: false; rejected: RejectedLine };

export interface ProcessLineDeps {
  pipeline: Pick<PipelineConfig, 'maxEventBytes' | 'futureToleranceMs' | 'futureEvents'>;
  trackingPlan: TrackingPlan | null;
}

/** The per-line stages in order: parse → validate → tracking plan → clock skew. Pure given the line and its arrival time. */
export function createProcessLine(deps: ProcessLineDeps) {
  const parseLine = createParseLine({ maxEventBytes: deps.pipeline.maxEventBytes });
  const checkTrackingPlan = createCheckTrackingPlan(deps.trackingPlan);
  const correctClockSkew = createCorrectClockSkew(deps.pipeline);

  return function processLine(line: string, arrivedAt: number): LineOutcome {
    const rawHash = createHash('sha256').update(line).digest('hex');
    const parsed = parseLine(line);
    if (!parsed.ok) return rejected(line, rawHash, parsed.reason, parsed.detail, arrivedAt, null);
    const validated = validateEvent(parsed.value);
    if (!validated.ok) return rejected(line, rawHash, validated.reason, validated.detail, arrivedAt, parsed.value);
    const candidate = validated.value;
    const planned = checkTrackingPlan(candidate.event, candidate.properties);
    if (!planned.ok) return rejected(line, rawHash, planned.reason, planned.detail, arrivedAt, parsed.value);
    const receivedAt = candidate.receivedAt ?? arrivedAt;
    const corrected = correctClockSkew({ timestamp: candidate.timestamp, sentAt: candidate.sentAt, receivedAt: candidate.receivedAt, arrivedAt });
    if (!corrected.ok) return rejected(line, rawHash, corrected.reason, corrected.detail, arrivedAt, parsed.value);
    return {
      ok: true,
      event: {
        messageId: candidate.messageId,
        type: candidate.type,
        event: candidate.event,
        userId: candidate.userId,
        anonymousId: candidate.anonymousId,
        previousId: candidate.previousId,
        identityKey: (candidate.userId ?? candidate.anonymousId)!,
        eventTime: corrected.value.eventTime,
        timeSource: corrected.value.timeSource,
        skewMs: corrected.value.skewMs,
        receivedAt,
        appVersion: candidate.appVersion,
        properties: candidate.properties,
        context: candidate.context,
        traits: candidate.traits,
        raw: line,
        rawHash,
      },
    };
  };
}

function rejected(
  line: string,
  rawHash: string,
  reason: RejectedLine['reason'],
  detail: string,
  arrivedAt: number,
  input: RawEventInput | null,
): LineOutcome {
  // The collector's receivedAt, when readable, dates the line; otherwise our arrival time does.
  const receivedAt = parseEventTimestamp(input?.receivedAt) ?? arrivedAt;
  const context = input?.context as { app?: { version?: unknown } } | undefined;
  const version = context?.app?.version;
  return {
    ok: false,
    rejected: {
      raw: line,
      rawHash,
      reason,
      detail,
      receivedAt,
      messageId: typeof input?.messageId === 'string' ? input.messageId : null,
      event: typeof input?.event === 'string' ? input.event : null,
      appVersion: typeof version === 'string' || typeof version === 'number' ? String(version) : null,
    },
  };
}
