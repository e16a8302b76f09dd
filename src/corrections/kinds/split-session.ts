import type { SessionRef } from '../../domain/correction.js';
import { UsageError } from '../../errors.js';
import { plain } from './helpers.js';
import { defineCorrectionKind } from './kind.js';

export const splitSession = defineCorrectionKind<{ kind: 'split_session'; session: SessionRef; atMessageId: string }>({
  kind: 'split_session',
  cli: {
    command: 'split-session',
    description: 'start a new session at an event',
    arguments: [{ name: 'session-id' }],
    options: [{ flags: '--at <message-id>', description: 'the event that starts the new session', required: true }],
    build:
      ([sessionId], options) =>
      async (ports) => {
        const at = options.at as string;
        const session = await ports.session(sessionId!);
        if (!session.messageIds.includes(at)) throw new UsageError(`event ${at} is not in session ${sessionId}`, { hint: `split at one of its events (journeyctl explain ${sessionId})` });
        if (session.firstMessageId === at) throw new UsageError(`${at} is the first event of session ${sessionId}; splitting there changes nothing`);
        return { kind: 'split_session', session: plain(session), atMessageId: at };
      },
  },
  describe: (c) => `split session ${c.session.sessionId} at ${c.atMessageId}`,
  affects: async (c) => [c.session.userId],
  touches: (c, view) => view.names(c.session),
  compile(c, plan) {
    plan.splitBefore.add(c.atMessageId);
    plan.joinBefore.delete(c.atMessageId);
  },
});
