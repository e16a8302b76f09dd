import type { EventFilter } from '../../domain/correction.js';
import { checkCode, describeFilter, personFilter } from './helpers.js';
import { type CorrectionPorts, defineCorrectionKind } from './kind.js';

type FlagSessions = { kind: 'flag_sessions'; filter: EventFilter; code: string };

/** Recorded by `journeyctl flag --event … --code …` (every session with a matching event). */
export const flagSessions = defineCorrectionKind<FlagSessions>({
  kind: 'flag_sessions',
  describe: (c) => `flag sessions with ${describeFilter(c.filter)} as ${c.code}`,
  affects: (c, ports) => ports.identityKeysForEvents(c.filter),
  touches: (c, view) => c.filter.userId === view.session.userId || view.anyEvent(c.filter),
  compile(c, plan, correction) {
    plan.filterFlags.push({ correction, code: c.code, filter: c.filter });
  },
});

export const buildFlagSessions =
  (filter: EventFilter, code: string) =>
  async (ports: CorrectionPorts): Promise<FlagSessions> => ({ kind: 'flag_sessions', filter: await personFilter(ports, filter), code: checkCode(code) });
