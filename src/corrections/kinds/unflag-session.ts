import type { SessionRef } from '../../domain/correction.js';
import { UsageError } from '../../errors.js';
import { plain } from './helpers.js';
import { type CorrectionPorts, defineCorrectionKind } from './kind.js';

type UnflagSession = { kind: 'unflag_session'; session: SessionRef; code: string };

/** Recorded by `journeyctl unflag <session-id>`. */
export const unflagSession = defineCorrectionKind<UnflagSession>({
  kind: 'unflag_session',
  describe: (c) => `clear flag ${c.code} on session ${c.session.sessionId}`,
  affects: async (c) => [c.session.userId],
  touches: (c, view) => view.names(c.session),
  compile(c, plan, correction) {
    plan.clearedFlags.push({ firstMessageId: c.session.firstMessageId, code: c.code, correction });
  },
});

export const buildUnflagSession =
  (sessionId: string, code: string | undefined) =>
  async (ports: CorrectionPorts): Promise<UnflagSession> => {
    const session = await ports.session(sessionId);
    const chosen = code ?? (session.flags.length === 1 ? session.flags[0] : undefined);
    if (chosen === undefined)
      throw new UsageError(session.flags.length === 0 ? `session ${sessionId} has no flag` : `session ${sessionId} has flags ${session.flags.join(', ')}; say which with --code`);
    if (!session.flags.includes(chosen)) throw new UsageError(`session ${sessionId} has no flag ${chosen} (it has: ${session.flags.join(', ') || 'none'})`);
    return { kind: 'unflag_session', session: plain(session), code: chosen };
  };
