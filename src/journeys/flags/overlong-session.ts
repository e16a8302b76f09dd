import { defineFlag } from './kind.js';

/** overlong_session: sessionization cut the session at the maximum length (it continues in the next one). */
export const overlongSession = defineFlag<undefined>({
  name: 'overlong_session',
  version: 1,
  description: 'reached the maximum session length and was continued in the next session',
  detect(session, events) {
    if (!session.flags.includes('overlong_session')) return null;
    return {
      name: 'overlong_session',
      detail: `reached the maximum session length after ${((session.endedAt - session.startedAt) / 3_600_000).toFixed(1)} h; continued in the next session`,
      evidence: [events[0]!.messageId, events[events.length - 1]!.messageId],
    };
  },
});
