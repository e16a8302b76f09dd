import { integerAtLeastOne, positiveNumber, readSection, share } from '../parse-helpers.js';
import type { RuleEvent } from '../rules.js';
import { defineFlag } from './kind.js';
import { percent } from './percent.js';

/** Extra distinct copies / events ≥ baseline × multiple, with at least minExtraCopies. */
export interface DuplicateStormSettings {
  baseline: number;
  multiple: number;
  minExtraCopies: number;
}

/**
 * duplicate_storm: extra distinct copies (retries with new sentAt/receivedAt; byte-identical
 * re-sends are indistinguishable from re-ingesting the input and are not counted) per event,
 * far above the normal retry rate. SDK retries resend ~1–2% of events; a session where a fifth
 * of its events came twice or more is a client stuck in a retry loop (or a replay).
 */
export const duplicateStorm = defineFlag<DuplicateStormSettings>({
  name: 'duplicate_storm',
  version: 1,
  description: 'far more retried copies per event than normal delivery',
  settingsKey: 'duplicateStorm',
  defaults: { baseline: 0.02, multiple: 10, minExtraCopies: 5 },
  configKeys: null,
  parseSettings(flags, settings, errors) {
    const storm = readSection(flags, 'duplicate_storm', ['baseline', 'multiple', 'min_extra_copies'], errors);
    if (storm.baseline !== undefined) settings.baseline = share(storm.baseline, 'flags.duplicate_storm.baseline', errors);
    if (storm.multiple !== undefined) settings.multiple = positiveNumber(storm.multiple, 'flags.duplicate_storm.multiple', errors);
    if (storm.min_extra_copies !== undefined) settings.minExtraCopies = integerAtLeastOne(storm.min_extra_copies, 'flags.duplicate_storm.min_extra_copies', errors);
    return settings;
  },
  detect(_session, events, settings) {
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
  },
});
