/**
 * The fixture generator: seeded, streaming, with recorded ground truth.
 *
 * Users are generated in cohorts (default 500). A cohort's lines — valid events plus
 * injected noise — are buffered, ordered by arrival (receivedAt; later for replayed
 * duplicates) and yielded one by one, so memory is bounded by one cohort no matter how
 * many events are generated. Truth is kept as per-user/per-session summaries; per-line
 * lists (duplicate message ids, malformed line numbers) are capped.
 *
 * Every user draws from its own RNG streams keyed by (seed, user index, purpose):
 * behaviour (sessions, intents, events), transport (devices, send delays, latency) and
 * noise. Turning noise off therefore leaves every user's sessions and message ids unchanged.
 */
import { APP_VERSION, BOT_UAS, BUGGY_VERSION, CATEGORIES, DESKTOP_UAS, EMAIL_DOMAINS, MOBILE_UAS, PLANS, PRODUCT_MAX, PRODUCT_MIN, RAGE_TARGETS, SITE, productPrice } from './catalog.js';
import { SEQ_NOISE, anonymousId as makeAnonymousId, messageId as makeMessageId, userIdFor, uuidLike } from './ids.js';
import { TIMING, pickIntent, planSession, type PlannedSession } from './intents.js';
import { Rng, STREAM, seedToU32 } from './prng.js';
import { iso } from './time.js';
import type {
  BuggyReason,
  BuggyReleaseTruth,
  GroundTruth,
  IdentityKind,
  MalformedReason,
  NoiseDetail,
  NoiseRates,
  NormalizedOptions,
  TruthCounts,
  TruthIdentityCall,
  TruthSession,
  TruthUser,
} from './truth.js';

export interface GeneratorOptions {
  /** Number of users (humans + bots). */
  users: number;
  /** Any integer or string; default 1. */
  seed?: number | string;
  /** Period start, ISO-8601; default 2026-01-05T00:00:00.000Z. */
  start?: string;
  /** Period length in days; default 3. */
  days?: number;
  /** Inject a buggy app release during a 1-hour window on day 2. Default false. */
  buggyRelease?: boolean;
  /** Duplicates, retries, late arrivals, clock skew, malformed lines, missing receivedAt. Default true. */
  noise?: boolean;
  /** Override individual noise rates (see DEFAULT_RATES). */
  rates?: Partial<NoiseRates>;
  /** Users per cohort; lines are ordered by arrival within a cohort. Default 500. */
  cohortSize?: number;
  /** Cap on each per-line list in truth.noiseDetail. Default 10 000; 0 lists nothing. */
  maxListedIds?: number;
  /** Keep per-user truth (users[]). Default true; turn off for huge runs if only counts matter. */
  includeUsers?: boolean;
  /**
   * Humans' events carry a client session id (`context.sessionId`, epoch ms of its start, as
   * Amplitude sends it) that disagrees with the 30-minute gap as trackers do: a second tab with
   * its own id, an app back from the background keeping the last id, a device whose id never
   * changes. Default false (its own random stream: the other output is unchanged).
   */
  clientSessionIds?: boolean;
}

export const DEFAULT_START = '2026-01-05T00:00:00.000Z';
export const DEFAULT_DAYS = 3;
export const DEFAULT_COHORT_SIZE = 500;
export const DEFAULT_MAX_LISTED_IDS = 10_000;

export const DEFAULT_RATES: Readonly<NoiseRates> = {
  duplicate: 0.02,
  retry: 0.01,
  late: 0.02,
  skewedUsers: 0.1,
  malformed: 0.005,
  noReceivedAt: 0.005,
  bots: 0.03,
  buggyShare: 0.3,
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Sessions of one user are at least this far apart (2 h plus margin for latency). */
export const MIN_SESSION_GAP_MS = 2 * HOUR + 10 * MINUTE;
export const MAX_BOT_SESSION_MS = 2 * HOUR;
const END_MARGIN_MS = 30 * MINUTE;

/** Approximate lines per user with default rates (measured); used to size runs by event count. */
export const APPROX_LINES_PER_USER = 77;

export function usersForEvents(targetLines: number): number {
  return Math.max(1, Math.round(targetLines / APPROX_LINES_PER_USER));
}

// ---------------------------------------------------------------- line tags

const K_ACTIVITY = 0;
const K_IDENTITY = 1;
const K_DUP = 2;
const K_RETRY = 3;
const K_MALFORMED = 4;
const K_BUGGY = 5;
const F_LATE = 16;
const F_NO_RECEIVED = 32;

const MALFORMED_REASONS: readonly MalformedReason[] = ['invalid_json', 'not_an_object', 'missing_message_id', 'missing_event', 'invalid_timestamp', 'illegal_identity', 'payload_too_large'];
const MALFORMED_WEIGHTS = [1, 1, 1, 1, 1, 1, 0.5];
const BUGGY_REASONS: readonly BuggyReason[] = ['invalid_timestamp', 'required_missing', 'datatype_mismatch', 'unplanned_event'];

function tag(kind: number, flags: number, reason = 0): number {
  return kind | flags | (reason << 8);
}

/**
 * Lines of one cohort, in generation order, with their arrival key and what they are.
 * The text lives in one off-heap byte buffer (reused across cohorts), so tens of
 * thousands of buffered lines cost the garbage collector nothing; each line becomes a
 * JS string again only when it is yielded.
 */
class CohortBuffer {
  private bytes: Buffer;
  private used = 0;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  readonly arrival: number[] = [];
  readonly tags: number[] = [];
  /** message ids of lines the truth lists (noise), by line index. */
  readonly ids = new Map<number, string | null>();

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  get size(): number {
    return this.starts.length;
  }

  /** The (possibly grown) byte buffer, to reuse for the next cohort. */
  get storage(): Buffer {
    return this.bytes;
  }

  add(line: string, arrival: number, t: number, id?: string | null): void {
    const need = this.used + line.length * 3;
    if (need > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    const i = this.starts.length;
    this.starts.push(this.used);
    this.used += this.bytes.write(line, this.used, 'utf8');
    this.ends.push(this.used);
    this.arrival.push(arrival);
    this.tags.push(t);
    if (id !== undefined) this.ids.set(i, id);
  }

  line(i: number): string {
    return this.bytes.toString('utf8', this.starts[i] as number, this.ends[i] as number);
  }

  countArrivalsIn(from: number, to: number): number {
    let n = 0;
    for (const a of this.arrival) if (a >= from && a < to) n++;
    return n;
  }

  /** Indices in stream order: by arrival, ties by generation order. */
  order(): Uint32Array {
    const n = this.starts.length;
    const arr = Float64Array.from(this.arrival);
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    idx.sort((a, b) => (arr[a] as number) - (arr[b] as number) || a - b);
    return idx;
  }
}

// ---------------------------------------------------------------- helpers

let blobCache: string | null = null;
/** Deterministic base64-looking filler for oversized payloads. */
function blob(len: number): string {
  if (blobCache === null) {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const r = new Rng(0xb10b);
    let s = '';
    for (let i = 0; i < 65_536; i++) s += alphabet[r.u32() & 63];
    blobCache = s;
  }
  return blobCache.slice(0, len);
}

interface Device {
  index: number;
  anonymousId: string;
  userAgent: string;
  /** JSON-encoded userAgent, ready to splice into a line. */
  userAgentJson: string;
  latencyBase: number;
  latencyJitter: number;
}

/** What to send; times and transport are added by UserGen#emit. */
interface EventSpec {
  type: 'track' | 'page' | 'identify' | 'alias';
  event: string | null;
  userId: string | null;
  previousId?: string;
  path: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  /** The tracker's session id (clientSessionIds option). */
  clientSessionId?: number;
}

const pageFragments = new Map<string, string>();
/** context JSON, byte-identical to JSON.stringify({app:{version}, userAgent, page:{path, url}}). */
function contextJson(dev: Device, path: string, version = APP_VERSION, clientSessionId?: number): string {
  let page = pageFragments.get(path);
  if (page === undefined) {
    page = `"page":{"path":${JSON.stringify(path)},"url":${JSON.stringify(SITE + path)}}`;
    if (pageFragments.size > 50_000) pageFragments.clear();
    pageFragments.set(path, page);
  }
  const session = clientSessionId === undefined ? '' : `,"sessionId":${clientSessionId}`;
  return `{"app":{"version":${JSON.stringify(version)}},"userAgent":${dev.userAgentJson},${page}${session}}`;
}

interface Emitted {
  messageId: string;
  corrected: number;
}

type EventObject = Record<string, unknown>;

/** Mutable per-run accounting shared by all cohorts. */
interface RunState {
  opts: NormalizedOptions;
  key: number;
  periodStart: number;
  periodMs: number;
  windowStart: number;
  windowEnd: number;
  botSet: Set<number>;
  users: TruthUser[];
  bots: string[];
  counts: TruthCounts;
  detail: NoiseDetail;
  buggyByReason: Partial<Record<BuggyReason, number>>;
  linesInWindow: number;
  maxBuffered: number;
  cohortsDone: number;
}

/** Everything one user's generation needs. */
class UserGen {
  readonly rb: Rng;
  readonly rt: Rng;
  readonly rn: Rng;
  private seq = 0;
  private noiseSeq = SEQ_NOISE;
  private idSeq = 0;
  skewMs = 0;

  constructor(
    readonly run: RunState,
    readonly userIndex: number,
    readonly buf: CohortBuffer,
  ) {
    const { key } = run;
    this.rb = new Rng(key, userIndex, STREAM.behaviour);
    this.rt = new Rng(key, userIndex, STREAM.transport);
    this.rn = new Rng(key, userIndex, STREAM.noise);
  }

  nextMessageId(): string {
    return makeMessageId(this.run.key, this.userIndex, this.seq++);
  }

  newId = (prefix: string): string => {
    const u = uuidLike(this.run.key ^ 0x77, this.userIndex, 0x10000000 + this.idSeq++);
    return `${prefix}_${u.slice(0, 8)}${u.slice(9, 13)}`;
  };

  device(index: number, kind: 'desktop' | 'mobile' | 'bot'): Device {
    const ua = kind === 'bot' ? this.rt.pick(BOT_UAS) : kind === 'mobile' ? this.rt.pick(MOBILE_UAS) : this.rt.pick(DESKTOP_UAS);
    return {
      index,
      anonymousId: makeAnonymousId(this.run.key, this.userIndex, index),
      userAgent: ua,
      userAgentJson: JSON.stringify(ua),
      latencyBase: this.rt.int(10, 60),
      latencyJitter: kind === 'bot' ? 0 : 15,
    };
  }

  /**
   * Emit one valid event (activity or identity) at true time `trueTs`, with transport
   * times, device skew and — when noise is on — possibly late / duplicated / retried /
   * without receivedAt, plus possibly an extra malformed copy.
   */
  emit(dev: Device, trueTs: number, spec: EventSpec, kind: typeof K_ACTIVITY | typeof K_IDENTITY): Emitted {
    const { opts } = this.run;
    const rates = opts.rates;
    const messageId = this.nextMessageId();
    const sendDelay = this.rt.int(5, 1500);
    const latency = dev.latencyBase + (dev.latencyJitter > 0 ? this.rt.int(0, dev.latencyJitter) : 0);

    let noiseKind = 0; // 0 none, 1 late, 2 dup, 3 retry, 4 no receivedAt
    let noiseDelay = 0;
    let malformed = false;
    if (opts.noise) {
      const r = this.rn.float();
      noiseDelay = this.rn.float();
      malformed = kind === K_ACTIVITY && this.rn.float() < rates.malformed;
      let acc = rates.late;
      if (r < acc) noiseKind = 1;
      else if (r < (acc += rates.duplicate)) noiseKind = 2;
      else if (r < (acc += rates.retry)) noiseKind = 3;
      else if (r < (acc += rates.noReceivedAt)) noiseKind = this.skewMs === 0 ? 4 : 0;
    }

    // Truth is in server time: an event's true time is receivedAt − (sentAt − timestamp),
    // i.e. trueTs + network latency. A line without receivedAt comes from a device whose
    // clock agrees with the server to the millisecond (offset = that latency, tens of ms),
    // so its timestamp is the same true time and every event sits on one timeline.
    const noReceived = noiseKind === 4;
    const sentTrue = noiseKind === 1 ? trueTs + HOUR + Math.floor(noiseDelay * 29 * HOUR) : trueTs + sendDelay;
    const receivedAt = sentTrue + latency;
    const clockOffset = noReceived ? latency : this.skewMs;
    const timestamp = trueTs + clockOffset;
    const sentAt = sentTrue + clockOffset;

    // Hand-built JSON (ids, names and ISO times never need escaping); identical to
    // JSON.stringify of the same object with this key order.
    let line = `{"type":"${spec.type}"`;
    if (spec.event !== null) line += `,"event":"${spec.event}"`;
    line += `,"messageId":"${messageId}"`;
    if (spec.userId !== null) line += `,"userId":"${spec.userId}"`;
    line += `,"anonymousId":"${dev.anonymousId}"`;
    if (spec.previousId !== undefined) line += `,"previousId":"${spec.previousId}"`;
    line += `,"timestamp":"${iso(timestamp)}","sentAt":"${iso(sentAt)}"`;
    if (!noReceived) line += `,"receivedAt":"${iso(receivedAt)}"`;
    if (spec.traits !== undefined) line += `,"traits":${JSON.stringify(spec.traits)}`;
    else if (spec.type !== 'alias') line += `,"properties":${JSON.stringify(spec.properties ?? {})}`;
    line += `,"context":${contextJson(dev, spec.path, APP_VERSION, spec.clientSessionId)}}`;

    const arrival = receivedAt;
    const flags = noiseKind === 1 ? F_LATE : noReceived ? F_NO_RECEIVED : 0;
    this.buf.add(line, arrival, tag(kind, flags), flags !== 0 ? messageId : undefined);

    if (noiseKind === 2) {
      // The very same bytes again, replayed later (1 s – 6 h).
      this.buf.add(line, receivedAt + 1000 + Math.floor(noiseDelay * 6 * HOUR), tag(K_DUP, 0), messageId);
    } else if (noiseKind === 3) {
      // Client retry: same message, re-sent 2 s – 15 min later (same network latency, so
      // receivedAt − (sentAt − timestamp) is unchanged).
      const d = 2000 + Math.floor(noiseDelay * 15 * MINUTE);
      const retry = JSON.parse(line) as EventObject;
      retry['sentAt'] = iso(sentAt + d);
      retry['receivedAt'] = iso(receivedAt + d);
      this.buf.add(JSON.stringify(retry), receivedAt + d, tag(K_RETRY, 0), messageId);
    }
    if (malformed) this.emitMalformed(JSON.parse(line) as EventObject, arrival);

    return { messageId, corrected: receivedAt - (sentAt - timestamp) };
  }

  private emitMalformed(src: EventObject, arrival: number): void {
    const reasonIdx = this.rn.weighted(MALFORMED_WEIGHTS);
    const id = makeMessageId(this.run.key, this.userIndex, this.noiseSeq++);
    addMalformed(this.buf, this.rn, src, reasonIdx, id, arrival);
  }
}

/** A broken copy (fresh messageId) of a valid event, with exactly one defect. */
function addMalformed(buf: CohortBuffer, rn: Rng, src: EventObject, reasonIdx: number, id: string, arrival: number): void {
  const reason = MALFORMED_REASONS[reasonIdx] as MalformedReason;
  const m: EventObject = { ...src, messageId: id };
  let line: string;
  let listedId: string | null = id;
  switch (reason) {
    case 'invalid_json': {
      const s = JSON.stringify(m);
      line = s.slice(0, rn.int(10, s.length - 2));
      break;
    }
    case 'not_an_object':
      line = `[${JSON.stringify(m)}]`;
      break;
    case 'missing_message_id':
      delete m['messageId'];
      listedId = null;
      line = JSON.stringify(m);
      break;
    case 'missing_event':
      m['type'] = 'track';
      delete m['event'];
      line = JSON.stringify(m);
      break;
    case 'invalid_timestamp':
      m['timestamp'] = 'not-a-date';
      line = JSON.stringify(m);
      break;
    case 'illegal_identity':
      m['userId'] = rn.pick(['undefined', 'null', '0']);
      delete m['anonymousId'];
      line = JSON.stringify(m);
      break;
    case 'payload_too_large':
      m['properties'] = { ...(m['properties'] as object), debug_dump: blob(rn.int(41_500, 46_000)) };
      line = JSON.stringify(m);
      break;
  }
  buf.add(line, arrival + rn.int(0, 5000), tag(K_MALFORMED, 0, reasonIdx), listedId);
}

/**
 * Small runs would often miss some malformed kinds entirely; the first cohort gets at
 * least one line of each, so even a 20-user fixture exercises every rejection reason.
 */
function ensureEveryMalformedReason(run: RunState, cohortIndex: number, buf: CohortBuffer): void {
  const seen = new Set<number>();
  const activity: number[] = [];
  for (let i = 0; i < buf.size; i++) {
    const t = buf.tags[i] as number;
    if ((t & 15) === K_MALFORMED) seen.add(t >> 8);
    else if ((t & 15) === K_ACTIVITY && (t & (F_LATE | F_NO_RECEIVED)) === 0) activity.push(i);
  }
  if (activity.length === 0) return;
  const rng = new Rng(run.key, cohortIndex, STREAM.noise, 0xcafe);
  let k = 0;
  for (let r = 0; r < MALFORMED_REASONS.length; r++) {
    if (seen.has(r)) continue;
    const i = rng.pick(activity);
    const id = makeMessageId(run.key, 0xffffffff - cohortIndex, 0x40000000 + k++);
    addMalformed(buf, rng, JSON.parse(buf.line(i)) as EventObject, r, id, buf.arrival[i] as number);
  }
}

// ---------------------------------------------------------------- layout

/** Place sessions with given durations in the period, ≥ minGap apart; may drop trailing ones. */
function layout(rng: Rng, durations: number[], periodStart: number, periodMs: number, minGap: number): number[] {
  let n = durations.length;
  const total = (k: number): number => durations.slice(0, k).reduce((a, b) => a + b, 0) + (k - 1) * minGap;
  while (n > 1 && total(n) > periodMs - END_MARGIN_MS) n--;
  const slack = Math.max(0, periodMs - END_MARGIN_MS - total(n));
  const w: number[] = [];
  let ws = 0;
  for (let i = 0; i <= n; i++) {
    const x = 0.05 + rng.float();
    w.push(x);
    ws += x;
  }
  const starts: number[] = [];
  let t = periodStart + Math.floor((slack * (w[0] as number)) / ws);
  for (let i = 0; i < n; i++) {
    if (i > 0) t = (starts[i - 1] as number) + (durations[i - 1] as number) + minGap + Math.floor((slack * (w[i] as number)) / ws);
    starts.push(t);
  }
  return starts;
}

// ---------------------------------------------------------------- humans

interface SessionAcc {
  count: number;
  first: Emitted | null;
  last: Emitted | null;
}

function accumulate(acc: SessionAcc, e: Emitted): void {
  acc.count++;
  if (acc.first === null || e.corrected < acc.first.corrected) acc.first = e;
  if (acc.last === null || e.corrected >= acc.last.corrected) acc.last = e;
}

function sessionTruth(intent: TruthSession['intent'], dev: Device, acc: SessionAcc): TruthSession {
  const first = acc.first as Emitted;
  const last = acc.last as Emitted;
  return {
    intent,
    anonymousId: dev.anonymousId,
    startedAt: iso(first.corrected),
    endedAt: iso(last.corrected),
    eventCount: acc.count,
    firstMessageId: first.messageId,
    lastMessageId: last.messageId,
  };
}

interface HumanInfo {
  anonymousId: string;
  userId: string | null;
  skewMs: number;
  device: Device;
}

function drawSkew(u: UserGen): void {
  const { opts } = u.run;
  if (!opts.noise) return;
  const r = u.rn.float();
  const v = u.rn.float();
  if (r < opts.rates.skewedUsers) {
    // −3 h … +2 days, never a trivially small offset.
    let s = Math.round(-3 * HOUR + v * (2 * DAY + 3 * HOUR));
    if (Math.abs(s) < MINUTE) s = s < 0 ? -MINUTE : MINUTE;
    u.skewMs = s;
  }
}

/**
 * The tracker's session ids of one human's devices (clientSessionIds option), disagreeing with
 * the server's 30-minute gap the ways real trackers do: 3 % of devices never renew their id (a
 * reused id, days apart), a session starting within 2 h of the last one on the device keeps its
 * id half the time (an app back from the background), and 8 % of sessions of 4+ events open a
 * second tab that sends its own id for every other event from the middle on.
 */
function createClientSessionIds(rng: Rng, devices: number) {
  const stuck = Array.from({ length: devices }, () => rng.chance(0.03));
  const last: Array<{ id: number; end: number } | null> = Array.from({ length: devices }, () => null);
  return {
    session(device: number, start: number, end: number, events: number): (eventIndex: number) => number {
      const previous = last[device] ?? null;
      const keep = previous !== null && (stuck[device] || (start - previous.end < 2 * HOUR && rng.chance(0.5)));
      const id = keep && previous !== null ? previous.id : start;
      last[device] = { id, end };
      const tabFrom = events >= 4 && rng.chance(0.08) ? Math.floor(events / 2) : -1;
      return (eventIndex) => (tabFrom >= 0 && eventIndex >= tabFrom && (eventIndex - tabFrom) % 2 === 1 ? start + 1 : id);
    },
  };
}

function genHuman(u: UserGen): { truth: TruthUser; info: HumanInfo } {
  const { run } = u;
  const rb = u.rb;
  drawSkew(u);

  const nPlanned = 1 + rb.weighted([30, 25, 18, 12, 9, 6]);
  const identityIdx = rb.weighted([60, 25, 15]);
  const identity: IdentityKind = (['anonymous_then_identified', 'known_from_start', 'never_identified'] as const)[identityIdx] as IdentityKind;

  const planned: PlannedSession[] = [];
  for (let i = 0; i < nPlanned; i++) planned.push(planSession(rb, pickIntent(rb), u.newId));
  const durations = planned.map((p) => (p.events[p.events.length - 1] as { offset: number }).offset);
  const starts = layout(rb, durations, run.periodStart, run.periodMs, MIN_SESSION_GAP_MS);
  const n = starts.length;
  const sessions = planned.slice(0, n);

  // Devices: some identified people use a second device (phone), linked by identify or alias.
  const twoDevices = identity === 'anonymous_then_identified' && n >= 2 && rb.chance(0.25);
  const devices: Device[] = [u.device(0, rb.chance(0.7) ? 'desktop' : 'mobile')];
  if (twoDevices) devices.push(u.device(1, 'mobile'));
  const sessionDevice: number[] = sessions.map(() => (twoDevices && rb.chance(0.4) ? 1 : 0));
  if (twoDevices) {
    if (!sessionDevice.includes(1)) sessionDevice[n - 1] = 1;
    if (!sessionDevice.includes(0)) sessionDevice[0] = 0;
  }

  const userId = identity === 'never_identified' ? null : userIdFor(run.key, u.userIndex);
  const traits = userId === null ? null : { email: `${userId.slice(4, 14)}@${rb.pick(EMAIL_DOMAINS)}`, plan: rb.pick(PLANS) };

  // Where identity calls happen: (session index, anchor event index, type).
  const idCalls = new Map<number, { anchor: number; type: 'identify' | 'alias' }>();
  const anchorFor = (s: PlannedSession): number => s.identifyAnchor ?? rb.int(0, Math.max(0, s.events.length - 2));
  if (identity === 'anonymous_then_identified') {
    const dev0 = sessions.map((_, i) => i).filter((i) => sessionDevice[i] === 0);
    const natural = dev0.filter((i) => (sessions[i] as PlannedSession).identifyAnchor !== null);
    const si = natural.length > 0 && rb.chance(0.8) ? (natural[0] as number) : rb.pick(dev0);
    idCalls.set(si, { anchor: anchorFor(sessions[si] as PlannedSession), type: 'identify' });
    if (twoDevices) {
      const s1 = sessionDevice.indexOf(1);
      idCalls.set(s1, { anchor: anchorFor(sessions[s1] as PlannedSession), type: rb.chance(0.3) ? 'alias' : 'identify' });
    }
  } else if (identity === 'known_from_start' && rb.chance(0.5)) {
    idCalls.set(0, { anchor: 0, type: 'identify' });
  }

  const identified = devices.map(() => identity === 'known_from_start');
  const clientIds = u.run.opts.clientSessionIds === true ? createClientSessionIds(new Rng(u.run.key, u.userIndex, STREAM.clientSessions), devices.length) : null;
  const truthSessions: TruthSession[] = [];
  const identifyCalls: TruthIdentityCall[] = [];

  for (let si = 0; si < n; si++) {
    const plan = sessions[si] as PlannedSession;
    const dev = devices[sessionDevice[si] as number] as Device;
    const start = starts[si] as number;
    const call = idCalls.get(si);
    const acc: SessionAcc = { count: 0, first: null, last: null };
    const evs = plan.events;
    const clientSession = clientIds?.session(dev.index, start, start + (evs[evs.length - 1]?.offset ?? 0), evs.length);
    for (let ei = 0; ei < evs.length; ei++) {
      const pe = evs[ei]!;
      const ts = start + pe.offset;
      const spec: EventSpec = {
        type: pe.type,
        event: pe.event,
        userId: identified[dev.index] ? userId : null,
        path: pe.path,
        properties: pe.properties,
      };
      if (clientSession !== undefined) spec.clientSessionId = clientSession(ei);
      accumulate(acc, u.emit(dev, ts, spec, K_ACTIVITY));
      if (call !== undefined && call.anchor === ei && userId !== null) {
        const next = evs[ei + 1];
        const room = next === undefined ? 3000 : Math.floor((next.offset - pe.offset) / 2);
        const at = ts + Math.max(1, Math.min(rb.int(800, 3000), room));
        const idSpec: EventSpec =
          call.type === 'identify'
            ? { type: 'identify', event: null, userId, path: pe.path, traits: traits ?? {} }
            : { type: 'alias', event: null, userId, previousId: dev.anonymousId, path: pe.path };
        const e = u.emit(dev, at, idSpec, K_IDENTITY);
        identifyCalls.push({ type: call.type, messageId: e.messageId, userId, anonymousId: dev.anonymousId, at: iso(e.corrected) });
        identified[dev.index] = true;
      }
    }
    truthSessions.push(sessionTruth(plan.intent, dev, acc));
  }

  const anonymousIds = devices.map((d) => d.anonymousId);
  const primary = devices[0] as Device;
  return {
    truth: {
      canonicalId: userId ?? primary.anonymousId,
      kind: 'human',
      userId,
      anonymousIds,
      identity,
      devices: devices.length,
      skewMs: u.skewMs,
      identifyCalls,
      sessions: truthSessions,
    },
    info: { anonymousId: primary.anonymousId, userId: identity === 'known_from_start' ? userId : null, skewMs: u.skewMs, device: primary },
  };
}

// ---------------------------------------------------------------- bots

function genBot(u: UserGen): TruthUser {
  const { run } = u;
  const rb = u.rb;
  const dev = u.device(0, 'bot');
  const bursts = rb.chance(0.3) ? 2 : 1;
  const gaps: number[][] = [];
  const durations: number[] = [];
  for (let b = 0; b < bursts; b++) {
    const count = rb.int(300, 2000);
    const g: number[] = [0];
    let d = 0;
    for (let i = 1; i < count; i++) {
      const x = rb.int(50, 300);
      g.push(x);
      d += x;
    }
    gaps.push(g);
    durations.push(d);
  }
  const starts = layout(rb, durations, run.periodStart, run.periodMs, MIN_SESSION_GAP_MS);
  const sessions: TruthSession[] = [];
  let product = rb.int(PRODUCT_MIN, PRODUCT_MAX);
  for (let b = 0; b < starts.length; b++) {
    let t = starts[b] as number;
    const acc: SessionAcc = { count: 0, first: null, last: null };
    for (const gap of gaps[b] as number[]) {
      t += gap;
      let spec: EventSpec;
      if (rb.chance(0.5)) {
        const path = rb.chance(0.6) ? `/products/${product}` : rb.chance(0.5) ? `/category/${rb.pick(CATEGORIES)}` : '/';
        spec = { type: 'page', event: 'page_viewed', userId: null, path, properties: { path } };
      } else {
        product = product >= PRODUCT_MAX ? PRODUCT_MIN : product + 1;
        const path = `/products/${product}`;
        spec = { type: 'track', event: 'product_viewed', userId: null, path, properties: { product_id: product, price: productPrice(product) } };
      }
      accumulate(acc, u.emit(dev, t, spec, K_ACTIVITY));
    }
    sessions.push(sessionTruth('bot_burst', dev, acc));
  }
  return {
    canonicalId: dev.anonymousId,
    kind: 'bot',
    userId: null,
    anonymousIds: [dev.anonymousId],
    identity: 'bot',
    devices: 1,
    skewMs: 0,
    identifyCalls: [],
    sessions,
  };
}

// ---------------------------------------------------------------- buggy release

/** Floor on buggy-release lines per run (first cohort), so small fixtures still show the release. */
export const MIN_BUGGY_LINES = 20;
const BAD_TIMESTAMPS = ['Invalid Date', 'NaN-NaN-NaNTNaN:NaN:NaN.NaNZ'] as const;

function genBuggy(run: RunState, cohortIndex: number, buf: CohortBuffer, humans: HumanInfo[]): void {
  const inWindow = buf.countArrivalsIn(run.windowStart, run.windowEnd);
  const share = run.opts.rates.buggyShare;
  // Small runs see only a handful of lines in one hour; give them enough buggy lines to find.
  const n = Math.max(Math.round((inWindow * share) / (1 - share)), cohortIndex === 0 ? MIN_BUGGY_LINES : 0);
  run.linesInWindow += inWindow + n;
  if (n === 0 || humans.length === 0) return;
  const rng = new Rng(run.key, cohortIndex, STREAM.buggy);
  const upgraded = rng.sample(humans, Math.min(humans.length, Math.max(1, Math.ceil(n / 12))));
  let seq = 0;
  for (let i = 0; i < n; i++) {
    const h = rng.pick(upgraded);
    const trueTs = run.windowStart + rng.int(0, HOUR - 200);
    const latency = h.device.latencyBase + rng.int(0, 15);
    const sendDelay = rng.int(5, 150);
    const messageId = makeMessageId(run.key, 0xffffffff - cohortIndex, seq++);
    const kind = rng.weighted([25, 35, 10, 30]); // page, product_viewed, product_added, button_clicked
    const product = rng.int(PRODUCT_MIN, PRODUCT_MAX);
    const type = kind === 0 ? 'page' : 'track';
    let event = ['page_viewed', 'product_viewed', 'product_added', 'button_clicked'][kind] as string;
    const path = kind === 0 ? '/' : kind === 3 ? '/cart' : `/products/${product}`;
    let properties: EventObject =
      kind === 0
        ? { path }
        : kind === 3
          ? { target: rng.pick(RAGE_TARGETS) }
          : { product_id: product, price: productPrice(product), ...(kind === 2 ? { cart_id: `cart_${messageId.slice(0, 8)}`, quantity: 1 } : {}) };
    // Exactly one defect per line, so its expected rejection reason is unambiguous.
    let reason: BuggyReason;
    let timestamp = iso(trueTs + h.skewMs);
    if (kind === 0 || rng.chance(0.2)) {
      reason = 'invalid_timestamp';
      timestamp = rng.pick(BAD_TIMESTAMPS);
    } else if (kind === 3) {
      reason = 'unplanned_event';
      event = 'buton_clicked';
    } else if (rng.chance(0.5)) {
      reason = 'required_missing';
      const { product_id: _drop, ...rest } = properties;
      properties = rest;
    } else {
      reason = 'datatype_mismatch';
      properties = { ...properties, product_id: String(product) };
    }
    const obj: EventObject = { type, event, messageId };
    if (h.userId !== null) obj['userId'] = h.userId;
    obj['anonymousId'] = h.anonymousId;
    obj['timestamp'] = timestamp;
    obj['sentAt'] = iso(trueTs + sendDelay + h.skewMs);
    obj['receivedAt'] = iso(trueTs + sendDelay + latency);
    obj['properties'] = properties;
    const line = `${JSON.stringify(obj).slice(0, -1)},"context":${contextJson(h.device, path, BUGGY_VERSION)}}`;
    buf.add(line, trueTs + sendDelay + latency, tag(K_BUGGY, 0, BUGGY_REASONS.indexOf(reason)), messageId);
  }
}

// ---------------------------------------------------------------- driver

export function normalizeOptions(options: GeneratorOptions): NormalizedOptions {
  const users = options.users;
  if (!Number.isInteger(users) || users < 0) throw new Error(`users must be a non-negative integer, got ${String(users)}`);
  const start = options.start ?? DEFAULT_START;
  const startMs = Date.parse(start);
  if (Number.isNaN(startMs)) throw new Error(`start is not an ISO date: ${start}`);
  const days = options.days ?? DEFAULT_DAYS;
  if (!(days > 0)) throw new Error(`days must be > 0, got ${String(days)}`);
  const cohortSize = options.cohortSize ?? DEFAULT_COHORT_SIZE;
  if (!Number.isInteger(cohortSize) || cohortSize < 1) throw new Error(`cohortSize must be a positive integer`);
  return {
    users,
    seed: options.seed ?? 1,
    start: iso(startMs),
    days,
    buggyRelease: options.buggyRelease ?? false,
    noise: options.noise ?? true,
    cohortSize,
    maxListedIds: options.maxListedIds ?? DEFAULT_MAX_LISTED_IDS,
    includeUsers: options.includeUsers ?? true,
    rates: { ...DEFAULT_RATES, ...(options.rates ?? {}) },
    ...(options.clientSessionIds === true ? { clientSessionIds: true as const } : {}),
  };
}

function botIndices(key: number, users: number, rate: number): Set<number> {
  const count = users >= 20 ? Math.max(1, Math.round(users * rate)) : Math.round(users * rate);
  const rng = new Rng(key, STREAM.bots);
  const set = new Set<number>();
  // One bot per stratum: spread evenly, exact count, no collisions.
  for (let j = 0; j < count; j++) set.add(Math.min(users - 1, Math.floor(((j + rng.float()) * users) / count)));
  return set;
}

function emptyCounts(): TruthCounts {
  return {
    lines: 0,
    validEvents: 0,
    activityEvents: 0,
    identityEvents: 0,
    duplicates: 0,
    retriedDuplicates: 0,
    late: 0,
    noReceivedAt: 0,
    skewedUsers: 0,
    malformed: {},
    malformedTotal: 0,
    buggy: 0,
    expectedRejected: {},
    humans: 0,
    bots: 0,
    sessions: 0,
    humanSessions: 0,
    botSessions: 0,
    botEvents: 0,
  };
}

export interface GeneratorStats {
  cohorts: number;
  /** Most lines held in memory at once (one cohort's buffer). */
  maxBufferedLines: number;
  linesYielded: number;
}

/**
 * A streaming fixture: iterate `lines` (each an NDJSON line without the newline); once
 * it is exhausted, `truth()` returns the ground truth. The generator's return value is
 * the truth too.
 */
export interface FixtureStream {
  lines: Generator<string, GroundTruth, undefined>;
  truth(): GroundTruth;
  stats(): GeneratorStats;
}

export function createFixture(options: GeneratorOptions): FixtureStream {
  const opts = normalizeOptions(options);
  const key = seedToU32(opts.seed);
  const periodStart = Date.parse(opts.start);
  const periodMs = Math.round(opts.days * DAY);
  const layoutRng = new Rng(key, STREAM.layout);
  const windowStart = opts.days >= 2 ? periodStart + DAY + layoutRng.int(8, 19) * HOUR + layoutRng.int(0, 3) * 15 * MINUTE : periodStart + Math.floor(periodMs / 2);
  const run: RunState = {
    opts,
    key,
    periodStart,
    periodMs,
    windowStart,
    windowEnd: windowStart + HOUR,
    botSet: botIndices(key, opts.users, opts.rates.bots),
    users: [],
    bots: [],
    counts: emptyCounts(),
    detail: { cap: opts.maxListedIds, truncated: false, duplicates: [], retriedDuplicates: [], late: [], noReceivedAt: [], malformed: [], buggy: [] },
    buggyByReason: {},
    linesInWindow: 0,
    maxBuffered: 0,
    cohortsDone: 0,
  };
  let result: GroundTruth | null = null;
  let yielded = 0;

  function* lines(): Generator<string, GroundTruth, undefined> {
    let storage: Buffer = Buffer.allocUnsafe(1 << 22);
    const c = run.counts;
    const d = run.detail;
    const cap = opts.maxListedIds;
    const list = <T>(arr: T[], v: T): void => {
      if (arr.length < cap) arr.push(v);
      else d.truncated = true;
    };
    for (let from = 0, cohort = 0; from < opts.users; from += opts.cohortSize, cohort++) {
      const to = Math.min(opts.users, from + opts.cohortSize);
      const buf = new CohortBuffer(storage);
      const humans: HumanInfo[] = [];
      for (let i = from; i < to; i++) {
        const u = new UserGen(run, i, buf);
        let t: TruthUser;
        if (run.botSet.has(i)) {
          t = genBot(u);
          c.bots++;
          c.botSessions += t.sessions.length;
          for (const s of t.sessions) c.botEvents += s.eventCount;
          run.bots.push(t.canonicalId);
        } else {
          const h = genHuman(u);
          t = h.truth;
          humans.push(h.info);
          c.humans++;
          c.humanSessions += t.sessions.length;
          if (t.skewMs !== 0) c.skewedUsers++;
        }
        c.sessions += t.sessions.length;
        if (opts.includeUsers) run.users.push(t);
      }
      if (opts.noise && cohort === 0) ensureEveryMalformedReason(run, cohort, buf);
      if (opts.buggyRelease) genBuggy(run, cohort, buf, humans);
      run.maxBuffered = Math.max(run.maxBuffered, buf.size);

      const order = buf.order();
      const { tags, ids } = buf;
      for (let k = 0; k < order.length; k++) {
        const i = order[k] as number;
        const t = tags[i] as number;
        const kind = t & 15;
        const id = ids.get(i) ?? null;
        c.lines++;
        yielded++;
        switch (kind) {
          case K_ACTIVITY:
          case K_IDENTITY:
            c.validEvents++;
            if (kind === K_ACTIVITY) c.activityEvents++;
            else c.identityEvents++;
            if (t & F_LATE) {
              c.late++;
              list(d.late, id as string);
            }
            if (t & F_NO_RECEIVED) {
              c.noReceivedAt++;
              list(d.noReceivedAt, id as string);
            }
            break;
          case K_DUP:
            c.duplicates++;
            list(d.duplicates, id as string);
            break;
          case K_RETRY:
            c.retriedDuplicates++;
            list(d.retriedDuplicates, id as string);
            break;
          case K_MALFORMED: {
            const reason = MALFORMED_REASONS[t >> 8] as MalformedReason;
            c.malformed[reason] = (c.malformed[reason] ?? 0) + 1;
            c.malformedTotal++;
            c.expectedRejected[reason] = (c.expectedRejected[reason] ?? 0) + 1;
            list(d.malformed, { line: c.lines, reason, messageId: id });
            break;
          }
          case K_BUGGY: {
            const reason = BUGGY_REASONS[t >> 8] as BuggyReason;
            run.buggyByReason[reason] = (run.buggyByReason[reason] ?? 0) + 1;
            c.buggy++;
            c.expectedRejected[reason] = (c.expectedRejected[reason] ?? 0) + 1;
            list(d.buggy, { line: c.lines, reason, messageId: id });
            break;
          }
        }
        yield buf.line(i);
      }
      storage = buf.storage;
      run.cohortsDone++;
    }
    result = finish(run);
    return result;
  }

  return {
    lines: lines(),
    truth(): GroundTruth {
      if (result === null) throw new Error('truth is available once all lines have been consumed');
      return result;
    },
    stats(): GeneratorStats {
      return { cohorts: run.cohortsDone, maxBufferedLines: run.maxBuffered, linesYielded: yielded };
    },
  };
}

function finish(run: RunState): GroundTruth {
  const { opts, counts } = run;
  const truth: GroundTruth = {
    generator: 'journeyctl-fixtures',
    version: 1,
    seed: opts.seed,
    options: opts,
    period: { start: iso(run.periodStart), end: iso(run.periodStart + run.periodMs) },
    rules: {
      sessionGapMinutes: 30,
      maxGapWithinSessionMs: TIMING.humanGapMax,
      minGapBetweenSessionsMs: MIN_SESSION_GAP_MS,
      maxBotSessionMs: MAX_BOT_SESSION_MS,
      cohortSize: opts.cohortSize,
    },
    counts,
    users: run.users,
    bots: run.bots,
    noiseDetail: run.detail,
  };
  if (opts.buggyRelease) {
    const br: BuggyReleaseTruth = {
      version: BUGGY_VERSION,
      windowStart: iso(run.windowStart),
      windowEnd: iso(run.windowEnd),
      events: counts.buggy,
      linesInWindow: run.linesInWindow,
      share: run.linesInWindow === 0 ? 0 : Math.round((counts.buggy / run.linesInWindow) * 1000) / 1000,
      byReason: run.buggyByReason,
    };
    truth.buggyRelease = br;
  }
  return truth;
}

/** Lazily yields NDJSON lines; the generator's return value is the ground truth. */
export function generateEvents(options: GeneratorOptions): Generator<string, GroundTruth, undefined> {
  return createFixture(options).lines;
}

/** Runs the whole generation, discarding lines, and returns only the truth. */
export function generateTruth(options: GeneratorOptions): GroundTruth {
  const f = createFixture(options);
  for (;;) {
    const r = f.lines.next();
    if (r.done === true) return r.value;
  }
}
