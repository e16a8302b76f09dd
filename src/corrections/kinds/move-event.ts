import type { SessionRef } from '../../domain/correction.js';
import { UsageError } from '../../errors.js';
import { plain } from './helpers.js';
import { defineCorrectionKind } from './kind.js';

export const moveEvent = defineCorrectionKind<{ kind: 'move_event'; messageId: string; userId: string; to: SessionRef }>({
  kind: 'move_event',
  cli: {
    command: 'move-event',
    description: 'put an event into another session of the same user',
    arguments: [{ name: 'message-id' }],
    options: [{ flags: '--to-session <session-id>', description: 'the session the event belongs to', required: true }],
    build:
      ([messageId], options) =>
      async (ports) => {
        const toSessionId = options.toSession as string;
        const target = await ports.session(toSessionId);
        if (target.messageIds.includes(messageId!)) throw new UsageError(`event ${messageId} is already in session ${toSessionId}`);
        const key = (await ports.identityKeysOfMessages([messageId!])).get(messageId!);
        if (key === undefined) throw new UsageError(`no stored event ${messageId}`);
        const owner = (await ports.canonicalOf([key])).get(key) ?? key;
        if (owner !== target.userId) throw new UsageError(`event ${messageId} belongs to user ${owner}, session ${toSessionId} to ${target.userId}; merge the users first`);
        return { kind: 'move_event', messageId: messageId!, userId: owner, to: plain(target) };
      },
  },
  describe: (c) => `move event ${c.messageId} to session ${c.to.sessionId}`,
  affects: async (c) => [c.userId, c.to.userId],
  touches: (c, view) => view.names(c.to) || view.events.some((e) => e.messageId === c.messageId),
  compile(c, plan) {
    plan.moves.set(c.messageId, c.to.firstMessageId);
  },
});
