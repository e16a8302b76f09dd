/** Ground-truth shapes written beside a generated stream, and their on-disk formatting. */
import type { Intent } from './intents.js';

/** Expected rejection reason of a malformed line (codes match REJECT_REASONS in src/domain/event.ts). */
export type MalformedReason = 'invalid_json' | 'not_an_object' | 'missing_message_id' | 'missing_event' | 'invalid_timestamp' | 'illegal_identity' | 'payload_too_large';

/** Expected rejection reason of a line from the buggy release (needs the tracking plan). */
export type BuggyReason = 'invalid_timestamp' | 'required_missing' | 'datatype_mismatch' | 'unplanned_event';

export interface NoiseRates {
  /** Share of valid events whose exact line is sent again later in the stream. */
  duplicate: number;
  /** Share of valid events re-sent by the client with the same messageId but new sentAt/receivedAt. */
  retry: number;
  /** Share of valid events received 1–30 h after they happened (offline queue flushed late). */
  late: number;
  /** Share of human users whose device clock is off by −3 h … +2 days. */
  skewedUsers: number;
  /** Extra malformed lines, as a share of valid activity events. */
  malformed: number;
  /** Share of valid events sent without receivedAt (then timestamp/sentAt are true times). */
  noReceivedAt: number;
  /** Share of humans/bots: users ≥ 20 always get at least one bot. */
  bots: number;
  /** With --buggy-release: share of all lines received in the release hour that come from the buggy version. */
  buggyShare: number;
}

export interface TruthSession {
  intent: Intent | 'bot_burst';
  /** Device (anonymousId) the session happened on. */
  anonymousId: string;
  /** Skew-corrected time of the first/last activity event: receivedAt − (sentAt − timestamp), or timestamp when receivedAt is absent. */
  startedAt: string;
  endedAt: string;
  /** Distinct valid activity events (track/page); identify/alias, duplicates and malformed lines excluded. */
  eventCount: number;
  firstMessageId: string;
  lastMessageId: string;
}

export interface TruthIdentityCall {
  type: 'identify' | 'alias';
  messageId: string;
  userId: string;
  /** The device linked (for alias: previousId). */
  anonymousId: string;
  /** Skew-corrected time. */
  at: string;
}

export type IdentityKind = 'anonymous_then_identified' | 'known_from_start' | 'never_identified' | 'bot';

export interface TruthUser {
  /** What a correct stitcher files everything under: userId if ever identified, else the single anonymousId. */
  canonicalId: string;
  kind: 'human' | 'bot';
  userId: string | null;
  anonymousIds: string[];
  identity: IdentityKind;
  devices: number;
  /** Device clock offset (ms) added to timestamp and sentAt; 0 = correct clock. */
  skewMs: number;
  /** identify/alias calls: identity only, not part of any session's eventCount. */
  identifyCalls: TruthIdentityCall[];
  /** The true sessions (30-min inactivity rule), chronological, after stitching all devices. */
  sessions: TruthSession[];
}

export interface ListedMalformed {
  /** 1-based line number in the stream. */
  line: number;
  reason: string;
  messageId: string | null;
}

export interface NoiseDetail {
  /** Each list keeps at most this many entries (option maxListedIds). */
  cap: number;
  /** true when any list below hit the cap. */
  truncated: boolean;
  duplicates: string[];
  retriedDuplicates: string[];
  late: string[];
  noReceivedAt: string[];
  malformed: ListedMalformed[];
  buggy: ListedMalformed[];
}

export interface TruthCounts {
  /** Lines written, every kind. */
  lines: number;
  /** Distinct valid messages (activity + identify/alias); what survives validation + dedup. */
  validEvents: number;
  /** Distinct valid track/page events: the sum of all sessions' eventCount. */
  activityEvents: number;
  identityEvents: number;
  /** Extra byte-identical copies. */
  duplicates: number;
  /** Extra copies with the same messageId but new sentAt/receivedAt. */
  retriedDuplicates: number;
  late: number;
  noReceivedAt: number;
  skewedUsers: number;
  /** Noise malformed lines by expected rejection reason. */
  malformed: Partial<Record<MalformedReason, number>>;
  malformedTotal: number;
  /** Lines from the buggy release (all expected to be rejected). */
  buggy: number;
  /** Every line a correct pipeline rejects, by reason (malformed noise + buggy release). */
  expectedRejected: Record<string, number>;
  humans: number;
  bots: number;
  sessions: number;
  humanSessions: number;
  botSessions: number;
  botEvents: number;
}

export interface BuggyReleaseTruth {
  version: string;
  windowStart: string;
  windowEnd: string;
  /** Lines from the buggy version. */
  events: number;
  /** All lines whose arrival (receivedAt) falls in the window, buggy included. */
  linesInWindow: number;
  share: number;
  byReason: Partial<Record<BuggyReason, number>>;
}

export interface NormalizedOptions {
  users: number;
  seed: number | string;
  start: string;
  days: number;
  buggyRelease: boolean;
  noise: boolean;
  cohortSize: number;
  maxListedIds: number;
  includeUsers: boolean;
  rates: NoiseRates;
  /** Present (true) only when events carry client session ids, so older truths read the same. */
  clientSessionIds?: true;
}

export interface GroundTruth {
  generator: 'journeyctl-fixtures';
  version: 1;
  seed: number | string;
  options: NormalizedOptions;
  period: { start: string; end: string };
  /** Rules the stream was built to satisfy. */
  rules: {
    sessionGapMinutes: 30;
    maxGapWithinSessionMs: number;
    minGapBetweenSessionsMs: number;
    maxBotSessionMs: number;
    /** Lines are grouped in cohorts of users; within a cohort they are ordered by arrival. */
    cohortSize: number;
  };
  counts: TruthCounts;
  users: TruthUser[];
  /** canonicalIds of bot users. */
  bots: string[];
  buggyRelease?: BuggyReleaseTruth;
  noiseDetail: NoiseDetail;
}

/** JSON with the top level indented and one user per line: readable, diffable, compact. */
export function formatTruth(truth: GroundTruth): string {
  const parts: string[] = [];
  const keys = Object.keys(truth) as (keyof GroundTruth)[];
  for (const k of keys) {
    const v = truth[k];
    if (v === undefined) continue;
    if (k === 'users') {
      const users = v as TruthUser[];
      parts.push(`  "users": [${users.length === 0 ? ']' : `\n${users.map((u) => `    ${JSON.stringify(u)}`).join(',\n')}\n  ]`}`);
    } else if (k === 'noiseDetail' || k === 'counts' || k === 'options') {
      const obj = v as unknown as Record<string, unknown>;
      const inner = Object.keys(obj).map((ik) => `    ${JSON.stringify(ik)}: ${JSON.stringify(obj[ik])}`);
      parts.push(`  ${JSON.stringify(k)}: {\n${inner.join(',\n')}\n  }`);
    } else {
      parts.push(`  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
    }
  }
  return `{\n${parts.join(',\n')}\n}\n`;
}
