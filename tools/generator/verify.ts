/**
 * A small, obviously-correct reference reading of a generated stream: validate, dedupe,
 * skew-correct, stitch, sessionize (30-min gap) — then compare with the ground truth.
 * It keeps every accepted event in memory, so use it on fixture-sized streams (tests,
 * `fixtures/generated-*`), not on million-event benchmarks.
 *
 * Its validation rules are the ones the generator's malformed lines are designed to trip;
 * the tracking-plan rules (event names, product_id required and numeric) are what the
 * buggy release breaks.
 */
import type { GroundTruth, TruthSession } from './truth.js';

export const PLANNED_EVENTS: ReadonlySet<string> = new Set([
  'page_viewed',
  'product_viewed',
  'product_added',
  'checkout_started',
  'form_error',
  'form_submitted',
  'order_completed',
  'signup_started',
  'onboarding_step_completed',
  'onboarding_completed',
  'button_clicked',
  'search_performed',
]);
export const MAX_LINE_BYTES = 32 * 1024;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const ILLEGAL_IDS = new Set(['', 'undefined', 'null', '0', 'NaN', 'false', 'true']);
const TYPES = new Set(['track', 'page', 'screen', 'identify', 'alias']);
const SESSION_GAP_MS = 30 * 60_000;

export interface RefEvent {
  line: number;
  messageId: string;
  type: string;
  event: string;
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  time: number;
  raw: string;
  properties: Record<string, unknown>;
  userAgent: string;
  appVersion: string | null;
}

export interface RefSession {
  canonicalId: string;
  startedAt: number;
  endedAt: number;
  events: RefEvent[];
}

export interface ReferenceResult {
  lines: number;
  accepted: Map<string, RefEvent>;
  rejected: Record<string, number>;
  rejectedLines: { line: number; reason: string }[];
  exactDuplicates: number;
  retriedDuplicates: number;
  /** canonical id → sessions, chronological. */
  sessions: Map<string, RefSession[]>;
  canonicalOf: (id: string) => string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function parseIso(v: unknown): number | null {
  if (typeof v !== 'string' || !ISO_RE.test(v)) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

/** Validate one line; returns the reject reason or the accepted event. */
export function referenceValidate(raw: string, line: number): { reason: string } | RefEvent {
  if (Buffer.byteLength(raw, 'utf8') > MAX_LINE_BYTES) return { reason: 'payload_too_large' };
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch {
    return { reason: 'invalid_json' };
  }
  if (!isRecord(o)) return { reason: 'not_an_object' };
  const type = str(o['type']);
  if (type === null || !TYPES.has(type)) return { reason: 'invalid_type' };
  const messageId = str(o['messageId']);
  if (messageId === null || messageId === '') return { reason: 'missing_message_id' };
  const activity = type === 'track' || type === 'page' || type === 'screen';
  const event = activity ? (str(o['event']) ?? str(o['name'])) : type;
  if (type === 'track' && (event === null || event === '')) return { reason: 'missing_event' };
  const userId = str(o['userId']);
  const anonymousId = str(o['anonymousId']);
  if ((userId !== null && ILLEGAL_IDS.has(userId)) || (anonymousId !== null && ILLEGAL_IDS.has(anonymousId))) {
    return { reason: 'illegal_identity' };
  }
  if (userId === null && anonymousId === null) return { reason: 'missing_identity' };
  const ts = parseIso(o['timestamp']);
  if (ts === null) return { reason: 'invalid_timestamp' };
  const sentAt = parseIso(o['sentAt']);
  const receivedAt = parseIso(o['receivedAt']);
  const properties = isRecord(o['properties']) ? o['properties'] : {};
  const name = event ?? (type === 'page' ? 'page_viewed' : type);
  if (activity) {
    if (!PLANNED_EVENTS.has(name)) return { reason: 'unplanned_event' };
    if (name === 'product_viewed' || name === 'product_added') {
      if (!('product_id' in properties)) return { reason: 'required_missing' };
      if (typeof properties['product_id'] !== 'number') return { reason: 'datatype_mismatch' };
    }
  }
  const time = receivedAt !== null && sentAt !== null ? receivedAt - (sentAt - ts) : ts;
  const ctx = isRecord(o['context']) ? o['context'] : {};
  const app = isRecord(ctx['app']) ? ctx['app'] : {};
  return {
    line,
    messageId,
    type,
    event: name,
    userId,
    anonymousId,
    previousId: str(o['previousId']),
    time,
    raw,
    properties,
    userAgent: str(ctx['userAgent']) ?? '',
    appVersion: str(app['version']),
  };
}

/** Run the reference pipeline over a stream of lines. */
export function referencePipeline(lines: Iterable<string>): ReferenceResult {
  const accepted = new Map<string, RefEvent>();
  const rejected: Record<string, number> = {};
  const rejectedLines: { line: number; reason: string }[] = [];
  let exactDuplicates = 0;
  let retriedDuplicates = 0;
  let n = 0;
  for (const raw of lines) {
    n++;
    const r = referenceValidate(raw, n);
    if ('reason' in r) {
      rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
      rejectedLines.push({ line: n, reason: r.reason });
      continue;
    }
    const prev = accepted.get(r.messageId);
    if (prev === undefined) accepted.set(r.messageId, r);
    else if (prev.raw === raw) exactDuplicates++;
    else retriedDuplicates++;
  }

  // Stitch: union-find over ids linked by one message.
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let p = parent.get(x);
    if (p === undefined) {
      parent.set(x, x);
      return x;
    }
    while (p !== x) {
      const gp = parent.get(p) as string;
      parent.set(x, gp);
      x = p;
      p = gp;
    }
    return x;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  const userOf = new Map<string, string>();
  for (const e of accepted.values()) {
    const ids = [e.userId, e.anonymousId, e.previousId].filter((x): x is string => x !== null);
    for (const id of ids) find(id);
    for (let i = 1; i < ids.length; i++) union(ids[0] as string, ids[i] as string);
  }
  for (const e of accepted.values()) if (e.userId !== null) userOf.set(find(e.userId), e.userId);
  const canonicalOf = (id: string): string => {
    const root = find(id);
    return userOf.get(root) ?? root;
  };

  const byUser = new Map<string, RefEvent[]>();
  for (const e of accepted.values()) {
    if (!(e.type === 'track' || e.type === 'page' || e.type === 'screen')) continue;
    const c = canonicalOf((e.userId ?? e.anonymousId) as string);
    let list = byUser.get(c);
    if (list === undefined) byUser.set(c, (list = []));
    list.push(e);
  }
  const sessions = new Map<string, RefSession[]>();
  for (const [c, evs] of byUser) {
    evs.sort((a, b) => a.time - b.time || a.line - b.line);
    const out: RefSession[] = [];
    let cur: RefSession | null = null;
    for (const e of evs) {
      if (cur === null || e.time - cur.endedAt > SESSION_GAP_MS) {
        cur = { canonicalId: c, startedAt: e.time, endedAt: e.time, events: [] };
        out.push(cur);
      }
      cur.events.push(e);
      cur.endedAt = e.time;
    }
    sessions.set(c, out);
  }
  return { lines: n, accepted, rejected, rejectedLines, exactDuplicates, retriedDuplicates, sessions, canonicalOf };
}

function sameSession(t: TruthSession, s: RefSession): string | null {
  const first = s.events[0] as RefEvent;
  const last = s.events[s.events.length - 1] as RefEvent;
  const got = {
    startedAt: new Date(s.startedAt).toISOString(),
    endedAt: new Date(s.endedAt).toISOString(),
    eventCount: s.events.length,
    firstMessageId: first.messageId,
    lastMessageId: last.messageId,
  };
  for (const k of Object.keys(got) as (keyof typeof got)[]) {
    if (got[k] !== t[k]) return `${k}: truth ${String(t[k])}, derived ${String(got[k])}`;
  }
  return null;
}

/** Compare a stream with its truth; returns a list of problems (empty = consistent). */
export function verifyAgainstTruth(lines: Iterable<string>, truth: GroundTruth): { problems: string[]; result: ReferenceResult } {
  const result = referencePipeline(lines);
  const problems: string[] = [];
  const c = truth.counts;
  const expect = (what: string, want: unknown, got: unknown): void => {
    if (JSON.stringify(want) !== JSON.stringify(got)) problems.push(`${what}: truth ${JSON.stringify(want)}, stream ${JSON.stringify(got)}`);
  };
  expect('lines', c.lines, result.lines);
  expect('validEvents', c.validEvents, result.accepted.size);
  expect('duplicates', c.duplicates, result.exactDuplicates);
  expect('retriedDuplicates', c.retriedDuplicates, result.retriedDuplicates);
  const sortObj = (o: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  expect('expectedRejected', sortObj(c.expectedRejected), sortObj(result.rejected));
  if (!truth.noiseDetail.truncated) {
    const listed = [...truth.noiseDetail.malformed, ...truth.noiseDetail.buggy].map((m) => `${m.line}:${m.reason}`).sort();
    const got = result.rejectedLines.map((m) => `${m.line}:${m.reason}`).sort();
    expect('rejected line numbers', listed, got);
  }
  if (truth.options.includeUsers) {
    let activity = 0;
    const seen = new Set<string>();
    for (const u of truth.users) {
      seen.add(u.canonicalId);
      const derived = result.sessions.get(u.canonicalId) ?? [];
      for (const id of u.anonymousIds) {
        if (result.canonicalOf(id) !== u.canonicalId) problems.push(`user ${u.canonicalId}: device ${id} stitched to ${result.canonicalOf(id)}`);
      }
      if (derived.length !== u.sessions.length) {
        problems.push(`user ${u.canonicalId}: truth has ${u.sessions.length} sessions, derived ${derived.length}`);
        continue;
      }
      u.sessions.forEach((t, i) => {
        activity += t.eventCount;
        const p = sameSession(t, derived[i] as RefSession);
        if (p !== null) problems.push(`user ${u.canonicalId} session ${i}: ${p}`);
      });
    }
    for (const k of result.sessions.keys()) if (!seen.has(k)) problems.push(`derived user ${k} is not in truth`);
    expect('activityEvents', c.activityEvents, activity);
  }
  return { problems, result };
}
