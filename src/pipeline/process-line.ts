import { createHash, hash } from 'node:crypto';
import { DEFAULT_PIPELINE, type PipelineConfig, type TrackingPlan } from '../config/config.js';
import { decodeDamagedLine, type DamagedLine } from '../domain/damaged-line.js';
import type { AcceptedEvent, RawEventInput, RejectedLine } from '../domain/event.js';
import { createCheckTimeRange } from './check-time-range.js';
import { createCheckTrackingPlan } from './check-tracking-plan.js';
import { createCorrectClockSkew } from './correct-clock-skew.js';
import { createParseLine } from './parse-line.js';
import { isWellFormed, validateEvent } from './validate-event.js';
import { parseEventTimestamp } from '../domain/time.js';

export type LineOutcome = { ok: true; event: AcceptedEvent } | { ok: false; rejected: RejectedLine };

export interface ProcessLineDeps {
  pipeline: Pick<PipelineConfig, 'maxEventBytes' | 'futureToleranceMs' | 'futureEvents'> & Partial<Pick<PipelineConfig, 'maxNestingDepth' | 'minEventTimeMs'>>;
  trackingPlan: TrackingPlan | null;
  /** false: leave rawHash empty (reprocess validates stored lines again and stores nothing of them). Default true. */
  hashLines?: boolean;
}

/**
 * The stored rawHash of a line that is text. One-shot hash: the same digest as createHash, without
 * a Hash object per line (see docs/decisions, throughput plan); the re-ingest pre-filter looks lines up by it.
 */
export function rawHashOf(line: string): string {
  return hash('sha256', line, 'hex');
}

/** The per-line stages in order: parse → validate → tracking plan → clock skew. Pure given the line and its arrival time. */
export function createProcessLine(deps: ProcessLineDeps) {
  const parseLine = createParseLine({ maxEventBytes: deps.pipeline.maxEventBytes, maxNestingDepth: deps.pipeline.maxNestingDepth ?? DEFAULT_PIPELINE.maxNestingDepth });
  const checkTrackingPlan = createCheckTrackingPlan(deps.trackingPlan);
  const correctClockSkew = createCorrectClockSkew(deps.pipeline);
  const timeRange = { minEventTimeMs: deps.pipeline.minEventTimeMs ?? DEFAULT_PIPELINE.minEventTimeMs, futureToleranceMs: deps.pipeline.futureToleranceMs };
  const checkTimeRange = createCheckTimeRange(timeRange);
  const rejected = (line: string, rawHash: string, reason: RejectedLine['reason'], detail: string, arrivedAt: number, input: RawEventInput | null) =>
    rejectedOutcome(line, rawHash, reason, detail, arrivedAt, input, timeRange);

  /** `knownHash`: rawHashOf(line), when the caller has it already (the re-ingest pre-filter hashed the line). */
  return function processLine(line: string, arrivedAt: number, knownHash?: string): LineOutcome {
    if (!isWellFormed(line)) {
      const damaged = decodeDamagedLine(line);
      if (damaged !== null) return rejectedDamaged(damaged, arrivedAt);
      // Only a caller that is not a source can hand over such a string: keep what UTF-8 can hold of it.
      const bytes = Buffer.from(line, 'utf8');
      return rejected(bytes.toString('base64'), createHash('sha256').update(bytes).digest('hex'), 'invalid_utf8', 'the line holds a lone surrogate, which is not text', arrivedAt, null);
    }
    const rawHash = deps.hashLines === false ? '' : (knownHash ?? rawHashOf(line));
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
    const inRange = checkTimeRange({ eventTime: corrected.value.eventTime, receivedAt: candidate.receivedAt, arrivedAt });
    if (!inRange.ok) return rejected(line, rawHash, inRange.reason, inRange.detail, arrivedAt, parsed.value);
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

/**
 * A line the source could not hand on as text. invalid_utf8: raw is base64 of every byte (see
 * rawEncodingOf). line_too_long: raw is the kept prefix as text, cut at a character boundary
 * (invalid bytes in it read as U+FFFD), and the detail gives the real length.
 */
function rejectedDamaged(damaged: DamagedLine, arrivedAt: number): LineOutcome {
  const tooLong = damaged.reason === 'line_too_long';
  const raw = tooLong ? damaged.kept.subarray(0, characterBoundary(damaged.kept)).toString('utf8') : damaged.kept.toString('base64');
  const detail = tooLong
    ? `line of ${damaged.length} bytes is longer than pipeline.max_line_bytes; its first ${damaged.kept.length} bytes are kept`
    : `line of ${damaged.length} bytes is not valid UTF-8; raw holds its bytes in base64`;
  return { ok: false, rejected: { raw, rawHash: damaged.sha256, reason: damaged.reason, detail, receivedAt: arrivedAt, messageId: null, event: null, appVersion: null } };
}

/** The length of `bytes` without a trailing, incomplete UTF-8 sequence. */
function characterBoundary(bytes: Buffer): number {
  let end = bytes.length;
  let back = 0;
  while (end - back - 1 >= 0 && back < 4 && (bytes[end - back - 1]! & 0xc0) === 0x80) back += 1;
  const lead = bytes[end - back - 1];
  if (lead === undefined) return end;
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return size > back + 1 ? end - back - 1 : end;
}

function rejectedOutcome(
  line: string,
  rawHash: string,
  reason: RejectedLine['reason'],
  detail: string,
  arrivedAt: number,
  input: RawEventInput | null,
  range: { minEventTimeMs: number; futureToleranceMs: number },
): LineOutcome {
  // The collector's receivedAt, when readable and in range, dates the line; otherwise our arrival time does.
  const claimed = parseEventTimestamp(input?.receivedAt);
  const receivedAt = claimed !== null && claimed >= range.minEventTimeMs && claimed <= arrivedAt + range.futureToleranceMs ? claimed : arrivedAt;
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
