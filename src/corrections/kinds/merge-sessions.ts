import type { SessionRef } from '../../domain/correction.js';
import { UsageError } from '../../errors.js';
import { plain } from './helpers.js';
import { defineCorrectionKind, type SessionLookup } from './kind.js';

export const mergeSessions = defineCorrectionKind<{ kind: 'merge_sessions'; first: SessionRef; second: SessionRef }>({
  kind: 'merge_sessions',
  cli: {
    command: 'merge-sessions',
    description: 'join two adjacent sessions of one user',
    arguments: [{ name: 'session-1' }, { name: 'session-2' }],
    build:
      ([firstId, secondId]) =>
      async (ports) => {
        if (firstId === secondId) throw new UsageError('cannot merge a session with itself');
        const [earlier, later] = [await ports.session(firstId!), await ports.session(secondId!)].sort((x, y) => x.startedAt - y.startedAt) as [SessionLookup, SessionLookup];
        if (earlier.userId !== later.userId) throw new UsageError(`sessions belong to different users (${earlier.userId}, ${later.userId}); merge the users first`);
        for await (const between of ports.sessionsBetween({ from: earlier.startedAt + 1, to: later.startedAt })) {
          if (between.userId === earlier.userId) throw new UsageError(`sessions ${firstId} and ${secondId} are not adjacent: ${between.sessionId} lies between them`);
        }
        return { kind: 'merge_sessions', first: plain(earlier), second: plain(later) };
      },
  },
  describe: (c) => `merge sessions ${c.first.sessionId} and ${c.second.sessionId}`,
  affects: async (c) => [c.first.userId, c.second.userId],
  touches: (c, view) => view.names(c.first) || view.names(c.second),
  compile(c, plan) {
    plan.joinBefore.add(c.second.firstMessageId);
    plan.splitBefore.delete(c.second.firstMessageId);
  },
});
