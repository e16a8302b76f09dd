import type { Session } from '../domain/session.js';
import type { RuleEvent } from './rules.js';

export interface FlagSettings {
  botLike: { minEvents: number; maxMedianGapMs: number; maxEventsPerMinute: number };
  clockSkew: { thresholdMs: number };
}

/**
 * Bots: humans dwell. The generator's fastest humans click every 1–3 s and rage clicks come in
 * bursts of a few; bots fire hundreds of events at sub-second spacing. A session needs enough
 * events for the signal to mean something before either test applies.
 */
export const DEFAULT_FLAG_SETTINGS: FlagSettings = {
  botLike: { minEvents: 30, maxMedianGapMs: 1_000, maxEventsPerMinute: 120 },
  clockSkew: { thresholdMs: 24 * 3_600_000 },
};

export const FLAG_RULE_VERSION = 1;

export interface FlagMatch {
  name: string;
  detail: string;
  evidence: string[];
}

/** Automatic anomaly flags of one session, computed from its events alone. */
export function sessionFlags(session: Session, events: readonly RuleEvent[], settings: FlagSettings): FlagMatch[] {
  const flags: FlagMatch[] = [];
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

function botLike(events: readonly RuleEvent[], settings: FlagSettings['botLike']): FlagMatch | null {
  if (events.length < settings.minEvents) return null;
  const gaps: number[] = [];
  for (let i = 1; i < events.length; i += 1) gaps.push(events[i]!.eventTime - events[i - 1]!.eventTime);
  gaps.sort((a, b) => a - b);
  const median = gaps.length % 2 ? gaps[(gaps.length - 1) / 2]! : (gaps[gaps.length / 2 - 1]! + gaps[gaps.length / 2]!) / 2;
  const minutes = Math.max((events[events.length - 1]!.eventTime - events[0]!.eventTime) / 60_000, 1 / 60);
  const perMinute = events.length / minutes;
  const tooFast = median <= settings.maxMedianGapMs;
  const tooMany = perMinute >= settings.maxEventsPerMinute;
  if (!tooFast && !tooMany) return null;
  const reasons = [tooFast ? `median gap ${Math.round(median)} ms` : null, tooMany ? `${Math.round(perMinute)} events/min` : null].filter(Boolean);
  return { name: 'bot_like', detail: `${events.length} events, ${reasons.join(', ')}`, evidence: [events[0]!.messageId, events[events.length - 1]!.messageId] };
}
