import { defineCheckKind } from './kind.js';

type Value = string | number | boolean | null;

export const acceptedValues = defineCheckKind({
  type: 'accepted_values',
  summary: "share of an event's property values outside a list (event, property, values)",
  keys: ['event', 'property', 'values'],
  share: true,
  anyRowFails: true,
  parse(entry, { fail, text }) {
    const values = entry.values;
    if (!Array.isArray(values) || values.length === 0 || values.some((v) => v !== null && typeof v === 'object')) fail('values must be a non-empty list of strings, numbers, booleans or null');
    return { event: text('event'), property: text('property'), values: Array.isArray(values) ? (values as Value[]) : [] };
  },
  async measure(check, ctx) {
    const accepted = check.values.map((v) => JSON.stringify(v));
    const profile = await (await ctx.analytics()).propertyProfile(ctx.range, check.event, check.property, accepted, ctx.sampleSize);
    if (profile.rows === 0) return { unit: 'share', groups: [{ key: '', value: null, note: `no ${check.event} events in the window` }] };
    const present = profile.rows - profile.missing;
    return {
      unit: 'share',
      groups: [{ key: '', value: present === 0 ? null : profile.unexpected / present, rows: profile.unexpectedValues.map((v) => ({ value: v.value, events: v.rows, example_message_id: v.example })) }],
      note: `${profile.unexpected} of ${present} ${check.event} events with ${check.property}`,
    };
  },
});
