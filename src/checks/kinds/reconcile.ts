import { effectiveCorrections } from '../../domain/correction.js';
import type { Group, Measurement, MeasureContext } from '../measure.js';
import { reconcileDays } from '../reconcile-days.js';
import { defineCheckKind } from './kind.js';

export const reconcile = defineCheckKind({
  type: 'reconcile',
  summary: 'per day, accepted raw events equal analytics events and sessions hold their events',
  keys: [],
  anyRowFails: true,
  groupNoun: 'days',
  parse: () => ({}),
  measure: (_check, ctx) => measureReconcile(ctx),
});

async function measureReconcile(ctx: MeasureContext): Promise<Measurement> {
  const rawDays = new Map((await (await ctx.raw()).acceptedPerDay(ctx.range)).map((d) => [d.day, d.activity]));
  const stored = await reconcileDays(await ctx.analytics(), ctx.range);
  const byDay = new Map(stored.map((d) => [d.day, d]));
  const groups: Group[] = [];
  for (const day of [...new Set([...rawDays.keys(), ...byDay.keys()])].sort()) {
    const raw = rawDays.get(day) ?? 0;
    const a = byDay.get(day);
    const events = a?.events ?? 0;
    const problems = [
      raw !== events ? `raw store has ${raw} accepted events, analytics ${events}` : null,
      a && a.declared !== a.placed ? `${a.mismatchedSessions} session(s) whose event_count differs from their events (${a.declared} declared, ${a.placed} placed)` : null,
    ].filter((p): p is string => p !== null);
    groups.push({
      key: day,
      value: problems.length === 0 ? 0 : 1,
      rows: [
        {
          day,
          raw_accepted: raw,
          analytics_events: events,
          sessions: a?.sessions ?? 0,
          sessions_declared_events: a?.declared ?? 0,
          events_in_sessions: a?.placed ?? 0,
          problem: problems.join('; '),
          sample_sessions: a?.sample ?? [],
        },
      ],
    });
  }
  // A steward's drop_events correction removes stored events on purpose: say so beside any difference.
  const drops = effectiveCorrections(await (await ctx.raw()).listCorrections()).filter((c) => c.change.kind === 'drop_events').length;
  return { unit: 'rows', groups, note: `${groups.length} day(s) compared${drops ? `; ${drops} drop_events correction(s) in effect remove events from the analytics side on purpose` : ''}` };
}
