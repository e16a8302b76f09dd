import { type EventFilter, matchesFilter } from '../../domain/correction.js';
import { describeFilter, filterOf, personFilter } from './helpers.js';
import { defineCorrectionKind } from './kind.js';

export const dropEvents = defineCorrectionKind<{ kind: 'drop_events'; filter: EventFilter }>({
  kind: 'drop_events',
  cli: {
    command: 'drop-events',
    description: 'leave matching events out of analytics (they stay in the raw store)',
    filters: true,
    build: (_args, options) => async (ports) => ({ kind: 'drop_events', filter: await personFilter(ports, filterOf(options)) }),
  },
  describe: (c) => `drop events (${describeFilter(c.filter)}) from analytics`,
  affects: (c, ports) => ports.identityKeysForEvents(c.filter),
  touches: (c, view) => c.filter.userId === view.session.userId || view.anyEvent(c.filter),
  editEvent: (c, event, userId) => (matchesFilter(c.filter, event, userId) ? null : event),
});
