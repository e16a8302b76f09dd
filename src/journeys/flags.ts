import type { Session } from '../domain/session.js';
import { DEFAULT_RELEASE_BURST_SETTINGS, describeWindow, type ReleaseBurstSettings } from './release-bursts.js';
import type { RuleEvent } from './rules.js';
import { type JourneySignals, NO_SIGNALS } from './signals.js';

export interface FlagSettings {
  botLike: { minEvents: number; maxMedianGapMs: number; maxEventsPerMinute: number };
  clockSkew: { thresholdMs: number };
  /** Extra distinct copies / events ≥ baseline × multiple, with at least minExtraCopies. */
  duplicateStorm: { baseline: number; multiple: number; minExtraCopies: number };
  releaseBurst: ReleaseBurstSettings;
}

/**
 * Bots: humans dwell. The generator's fastest humans click every 1–3 s and rage clicks come in
 * bursts of a few; bots fire hundreds of events at sub-second spacing. A session needs enough
 * events for the signal to mean something before either test applies.
 */
export const DEFAULT_FLAG_SETTINGS: FlagSettings = {
  botLike: { minEvents: 30, maxMedianGapMs: 1_000, maxEventsPerMinute: 120 },
  clockSkew: { thresholdMs: 24 * 3_600_000 },
  // SDK retries resend ~1–2% of events; a session where a fifth of its events came twice or
  // more is a client stuck in a retry loop (or a replay), not normal delivery.
  duplicateStorm: { baseline: 0.02, multiple: 10, minExtraCopies: 5 },
  releaseBurst: DEFAULT_RELEASE_BURST_SETTINGS,
};

const FLAG_RULE_VERSION = 1;
/** Flags whose rule changed since version 1 (a finding says which rule made it). bot_like 2: the busiest sliding minute, not the session's average rate. */
const CHANGED_FLAG_RULES: Readonly<Record<string, number>> = { bot_like: 2 };

export function flagRuleVersion(name: string): number {
  return CHANGED_FLAG_RULES[name] ?? FLAG_RULE_VERSION;
}

export interface FlagMatch {
  name: string;
  detail: string;
  evidence: string[];
}

/** Automatic anomaly flags of one session, computed from its events alone. */
export function sessionFlags(session: Session, events: readonly RuleEvent[], settings: FlagSettings, signals: JourneySignals = NO_SIGNALS): FlagMatch[] {
  const flags: FlagMatch[] = [];
  const storm = duplicateStorm(events, settings.duplicateStorm);
  if (storm) flags.push(storm);
  const burst = releaseBurst(session, events, signals);
  if (burst) flags.push(burst);
  const bot = botLike(events, settings.botLike);
  if (bot) flags.push(bot);
  const skew = clockSkew(events, settings.clockSkew);
  if (skew) flags.push(skew);
  if (session.flags.includes('overlong_session')) {
    flags.push({
      name: 'overlong_session',
      detail: `reached the maximum session length after ${((session.endedAt - session.startedAt) / 3_600_000).toFixed(1)} h; continued in the next session`,
      evidence: [events[0]!.messageId, events[events.length - 1]!.messageId],
    });
  }
  return flags;
}

/**
 * The skew correction removes any device offset when timestamp, sentAt and receivedAt are all
 * valid; a session is flagged when that could not be trusted (a client time after sending, a
 * clamped future time) or the offset is so large (a day by default) the device clock is junk.
 */
function clockSkew(events: readonly RuleEvent[], settings: FlagSettings['clockSkew']): FlagMatch | null {
  const suspect = events.filter((e) => e.timeSource === 'clamped_future' || e.timeSource === 'client_time_rejected' || Math.abs(e.skewMs ?? 0) >= settings.thresholdMs);
  if (suspect.length === 0) return null;
  const worst = suspect.reduce((max, e) => (Math.abs(e.skewMs ?? 0) > Math.abs(max.skewMs ?? 0) ? e : max), suspect[0]!);
  const offset = worst.skewMs ?? 0;
  const untrusted = suspect.filter((e) => e.timeSource === 'clamped_future' || e.timeSource === 'client_time_rejected').length;
  const parts = [
    offset !== 0 ? `device clock ${(Math.abs(offset) / 3_600_000).toFixed(1)} h ${offset > 0 ? 'ahead of' : 'behind'} the server` : null,
    untrusted > 0 ? `${untrusted} client time(s) not believable, server time used` : null,
  ].filter(Boolean);
  return { name: 'clock_skew', detail: `${parts.join('; ')} (${suspect.length} of ${events.length} events)`, evidence: suspect.slice(0, 20).map((e) => e.messageId) };
}

/**
 * bot_like: enough events, and either a median gap a human does not keep up (sub-second) or a
 * busiest sliding 60-second window with more events than a person makes in a minute. The peak,
 * not the session's average: a 2-minute burst inside an hour-long session is the signal.
 */
function botLike(events: readonly RuleEvent[], settings: FlagSettings['botLike']): FlagMatch | null {
  if (events.length < settings.minEvents) return null;
  const gaps: number[] = [];
  for (let i = 1; i < events.length; i += 1) gaps.push(events[i]!.eventTime - events[i - 1]!.eventTime);
  gaps.sort((a, b) => a - b);
  const median = gaps.length % 2 ? gaps[(gaps.length - 1) / 2]! : (gaps[gaps.length / 2 - 1]! + gaps[gaps.length / 2]!) / 2;
  const peak = busiestMinute(events);
  const tooFast = median <= settings.maxMedianGapMs;
  const tooMany = peak.count >= settings.maxEventsPerMinute;
  if (!tooFast && !tooMany) return null;
  const first = events[tooMany ? peak.first : 0]!;
  const last = events[tooMany ? peak.last : events.length - 1]!;
  const reasons = [tooFast ? `median gap ${Math.round(median)} ms` : null, tooMany ? `peak ${peak.count} events/min from ${new Date(first.eventTime).toISOString()}` : null].filter(Boolean);
  return { name: 'bot_like', detail: `${events.length} events, ${reasons.join(', ')}`, evidence: [first.messageId, last.messageId] };
}

/** The 60-second window [t, t + 60 s) starting at an event that holds the most events (events in time order). */
export function busiestMinute(events: ReadonlyArray<{ eventTime: number }>): { count: number; first: number; last: number } {
  const peak = { count: 0, first: 0, last: 0 };
  let first = 0;
  for (let last = 0; last < events.length; last += 1) {
    while (events[last]!.eventTime - events[first]!.eventTime >= 60_000) first += 1;
    if (last - first + 1 > peak.count) Object.assign(peak, { count: last - first + 1, first, last });
  }
  return peak;
}

/**
 * duplicate_storm: extra distinct copies (retries with new sentAt/receivedAt; byte-identical
 * re-sends are indistinguishable from re-ingesting the input and are not counted) per event,
 * far above the normal retry rate.
 */
function duplicateStorm(events: readonly RuleEvent[], settings: FlagSettings['duplicateStorm']): FlagMatch | null {
  if (events.length === 0) return null;
  let extra = 0;
  const copied: RuleEvent[] = [];
  for (const event of events) {
    const n = event.copies ?? 1;
    if (n > 1) {
      extra += n - 1;
      copied.push(event);
    }
  }
  const rate = extra / events.length;
  if (extra < settings.minExtraCopies || rate < settings.baseline * settings.multiple) return null;
  return {
    name: 'duplicate_storm',
    detail: `${extra} extra copies of ${copied.length} of ${events.length} events (${percent(rate)} per event; normal is ${percent(settings.baseline)})`,
    evidence: copied.slice(0, 50).map((e) => e.messageId),
  };
}

/** Within this long of a session's activity, a user's rejected burst line counts as part of it (the usual inactivity timeout). */
const BURST_HIT_MARGIN_MS = 30 * 60_000;

/**
 * release_burst: the session carries a bursting app version inside the burst's window — it has
 * accepted events of that version there, or the user's lines of that version received around
 * the session were rejected (so the session is missing events and its journey cannot be trusted).
 */
function releaseBurst(session: Session, events: readonly RuleEvent[], signals: JourneySignals): FlagMatch | null {
  if (signals.bursts.length === 0) return null;
  const details: string[] = [];
  const evidence: string[] = [];
  const ids = [session.userId, ...session.anonymousIds];
  signals.bursts.forEach((burst, index) => {
    if (session.startedAt - BURST_HIT_MARGIN_MS >= burst.windowEnd || session.endedAt + BURST_HIT_MARGIN_MS < burst.windowStart) return;
    const carried = events.filter((e) => e.appVersion === burst.appVersion && e.eventTime >= burst.windowStart && e.eventTime < burst.windowEnd);
    const seen = new Set<string>();
    const hits = ids
      .flatMap((id) => signals.burstHits.get(id) ?? [])
      .filter((hit) => hit.burst === index && hit.receivedAt >= session.startedAt - BURST_HIT_MARGIN_MS && hit.receivedAt <= session.endedAt + BURST_HIT_MARGIN_MS)
      .filter((hit) => {
        const key = `${hit.receivedAt}\u0000${hit.messageId}\u0000${hit.reason}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .sort((a, b) => a.receivedAt - b.receivedAt || String(a.messageId).localeCompare(String(b.messageId)));
    if (carried.length === 0 && hits.length === 0) return;
    const reasons = new Map<string, number>();
    for (const hit of hits) reasons.set(hit.reason, (reasons.get(hit.reason) ?? 0) + 1);
    const parts = [
      hits.length ? `${hits.length} of this user's lines rejected (${[...reasons].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([r, n]) => `${r} ${n}`).join(', ')})` : null,
      carried.length ? `${carried.length} events of that version in the window` : null,
    ].filter(Boolean);
    details.push(`app ${burst.appVersion} burst ${describeWindow(burst)} (${burst.rejected} of ${burst.accepted + burst.rejected} lines rejected, ${percent(burst.share)}; normal ${percent(burst.baseline)}): ${parts.join('; ')}`);
    for (const e of carried) evidence.push(e.messageId);
    for (const hit of hits) if (hit.messageId !== null) evidence.push(hit.messageId);
  });
  if (details.length === 0) return null;
  return { name: 'release_burst', detail: details.join(' | '), evidence: [...new Set(evidence)].slice(0, 50) };
}

function percent(value: number): string {
  return `${(value * 100).toFixed(value < 0.1 ? 1 : 0)}%`;
}
