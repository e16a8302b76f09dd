import { defineFlag } from './kind.js';

/**
 * client_session_reused (pipeline.session_mode: client): the client sent this session id again
 * after more than pipeline.client_session_max_gap (a tracker that never renews its id), so
 * sessionization started a new session where it came back.
 */
export const clientSessionReused = defineFlag<undefined>({
  name: 'client_session_reused',
  version: 1,
  description: 'client session id came back after more than client_session_max_gap and was cut there',
  detect(session, events) {
    if (!session.flags.includes('client_session_reused')) return null;
    return {
      name: 'client_session_reused',
      detail: 'the client session id was seen again after more than pipeline.client_session_max_gap; cut into a new session here',
      evidence: [events[0]!.messageId],
    };
  },
});
