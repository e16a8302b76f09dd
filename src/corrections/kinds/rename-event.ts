import { UsageError } from '../../errors.js';
import { defineCorrectionKind } from './kind.js';

export const renameEvent = defineCorrectionKind<{ kind: 'rename_event'; from: string; to: string; appVersion?: string }>({
  kind: 'rename_event',
  cli: {
    command: 'rename-event',
    description: 'rename an event a buggy release misnamed',
    arguments: [{ name: 'from' }, { name: 'to' }],
    options: [{ flags: '--app-version <version>', description: 'only events from this app version' }],
    build:
      ([from, to], options) =>
      async () => {
        if (from === to) throw new UsageError('the new name is the same as the old one');
        const appVersion = options.appVersion as string | undefined;
        return { kind: 'rename_event', from: from!, to: to!, ...(appVersion ? { appVersion } : {}) };
      },
  },
  describe: (c) => `rename event ${c.from} to ${c.to}${c.appVersion ? ` (app ${c.appVersion})` : ''}`,
  affects: (c, ports) => ports.identityKeysForEvents({ event: c.from, ...(c.appVersion === undefined ? {} : { appVersion: c.appVersion }) }),
  touches: (c, view) => view.events.some((e) => e.event === c.to && (c.appVersion === undefined || e.appVersion === c.appVersion)),
  editEvent: (c, event) => (event.event === c.from && (c.appVersion === undefined || event.appVersion === c.appVersion) ? { ...event, event: c.to } : event),
});
