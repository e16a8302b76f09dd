import { isObject, parseWithin, positiveInteger } from '../parse-helpers.js';
import type { RuleEvent } from '../rules.js';
import { defineFlag } from './kind.js';

export interface BotLikeSettings {
  minEvents: number;
  maxMedianGapMs: number;
  maxEventsPerMinute: number;
}

/**
 * bot_like: enough events, and either a median gap a human does not keep up (sub-second) or a
 * busiest sliding 60-second window with more events than a person makes in a minute. The peak,
 * not the session's average: a 2-minute burst inside an hour-long session is the signal.
 * Humans dwell: the generator's fastest click every 1–3 s; bots fire hundreds of events at
 * sub-second spacing. Version 2: the busiest sliding minute, not the session's average rate.
 */
export const botLike = defineFlag<BotLikeSettings>({
  name: 'bot_like',
  version: 2,
  description: 'enough events at a median gap or a peak rate per minute no person keeps up',
  settingsKey: 'botLike',
  defaults: { minEvents: 30, maxMedianGapMs: 1_000, maxEventsPerMinute: 120 },
  configKeys: { min_events: null, max_median_gap: null, max_events_per_minute: null },
  parseSettings(flags, settings, errors) {
    const bot = isObject(flags.bot_like) ? flags.bot_like : {};
    if (bot.min_events !== undefined) {
      if (!positiveInteger(bot.min_events)) errors.push('flags.bot_like.min_events must be a positive integer');
      else settings.minEvents = bot.min_events as number;
    }
    if (bot.max_median_gap !== undefined) settings.maxMedianGapMs = parseWithin(bot.max_median_gap, 'flags.bot_like.max_median_gap', errors);
    if (bot.max_events_per_minute !== undefined) {
      if (!positiveInteger(bot.max_events_per_minute)) errors.push('flags.bot_like.max_events_per_minute must be a positive integer');
      else settings.maxEventsPerMinute = bot.max_events_per_minute as number;
    }
    return settings;
  },
  detect(_session, events, settings) {
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
  },
});

/** The 60-second window [t, t + 60 s) starting at an event that holds the most events (events in time order). */
export function busiestMinute(events: ReadonlyArray<Pick<RuleEvent, 'eventTime'>>): { count: number; first: number; last: number } {
  const peak = { count: 0, first: 0, last: 0 };
  let first = 0;
  for (let last = 0; last < events.length; last += 1) {
    while (events[last]!.eventTime - events[first]!.eventTime >= 60_000) first += 1;
    if (last - first + 1 > peak.count) Object.assign(peak, { count: last - first + 1, first, last });
  }
  return peak;
}
