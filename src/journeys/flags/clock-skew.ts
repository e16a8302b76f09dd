import { isObject, parseWithin } from '../parse-helpers.js';
import { defineFlag } from './kind.js';

/**
 * clock_skew: the skew correction removes any device offset when timestamp, sentAt and
 * receivedAt are all valid; a session is flagged when that could not be trusted (a client time
 * after sending, a clamped future time) or the offset is so large (a day by default) the device
 * clock is junk.
 */
export const clockSkew = defineFlag<{ thresholdMs: number }>({
  name: 'clock_skew',
  version: 1,
  description: 'device clock far off, or client times not believable',
  settingsKey: 'clockSkew',
  defaults: { thresholdMs: 24 * 3_600_000 },
  configKeys: { threshold: null },
  parseSettings(flags, settings, errors) {
    const skew = isObject(flags.clock_skew) ? flags.clock_skew : {};
    if (skew.threshold !== undefined) settings.thresholdMs = parseWithin(skew.threshold, 'flags.clock_skew.threshold', errors);
    return settings;
  },
  detect(_session, events, settings) {
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
  },
});
