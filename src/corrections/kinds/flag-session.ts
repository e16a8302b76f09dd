import type { SessionRef } from '../../domain/correction.js';
import { checkCode, plain } from './helpers.js';
import { type CorrectionPorts, defineCorrectionKind } from './kind.js';

type FlagSession = { kind: 'flag_session'; session: SessionRef; code: string };

/** Recorded by `journeyctl flag <session-id>` (a top-level command, not under fix). */
export const flagSession = defineCorrectionKind<FlagSession>({
  kind: 'flag_session',
  describe: (c) => `flag session ${c.session.sessionId} as ${c.code}`,
  affects: async (c) => [c.session.userId],
  touches: (c, view) => view.names(c.session),
  compile(c, plan, correction) {
    plan.sessionFlags.push({ firstMessageId: c.session.firstMessageId, code: c.code, correction });
  },
});

export const buildFlagSession =
  (sessionId: string, code: string) =>
  async (ports: CorrectionPorts): Promise<FlagSession> => ({ kind: 'flag_session', session: plain(await ports.session(sessionId)), code: checkCode(code) });
