import { type EventFilter, matchesFilter } from '../../domain/correction.js';
import { describeFilter, filterOf, personFilter } from './helpers.js';
import { defineCorrectionKind } from './kind.js';

export const setProperty = defineCorrectionKind<{ kind: 'set_property'; filter: EventFilter; property: string; value: unknown }>({
  kind: 'set_property',
  cli: {
    command: 'set-property',
    description: 'set a property on matching events',
    arguments: [{ name: 'property' }, { name: 'value', description: 'JSON, or a plain string' }],
    filters: true,
    build:
      ([property, value], options) =>
      async (ports) => {
        let parsed: unknown = value;
        try {
          parsed = JSON.parse(value!);
        } catch {
          // not JSON: the value is the string itself
        }
        return { kind: 'set_property', filter: await personFilter(ports, filterOf(options)), property: property!, value: parsed };
      },
  },
  describe: (c) => `set ${c.property}=${JSON.stringify(c.value)} on ${describeFilter(c.filter)}`,
  affects: (c, ports) => ports.identityKeysForEvents(c.filter),
  touches: (c, view) => c.filter.userId === view.session.userId || view.anyEvent(c.filter),
  editEvent(c, event, userId) {
    if (!matchesFilter(c.filter, event, userId)) return event;
    const properties = JSON.parse(event.propertiesJson) as Record<string, unknown>;
    properties[c.property] = c.value;
    return { ...event, propertiesJson: JSON.stringify(properties) };
  },
});
