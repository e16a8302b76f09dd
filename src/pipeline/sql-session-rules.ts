import type { JourneyConfig } from '../config/config.js';
import type { SqlSessionRules } from '../stores/ports/sql-derivation.js';
import { sessionModeLabel } from './sessionize.js';

/** sessionize.ts's cutting rules from the pipeline config, as the SQL derivation binds them (ADR 0017). */
export function sqlSessionRules(pipeline: JourneyConfig['pipeline']): SqlSessionRules {
  const mode = pipeline.sessionMode ?? 'gap';
  return {
    inactivityMs: pipeline.sessionInactivityMs,
    maxLengthMs: pipeline.sessionMaxLengthMs,
    splitAtMidnight: pipeline.splitAtMidnight,
    timezone: pipeline.timezone,
    mode,
    // sessionize.ts's default when client_session_max_gap is not set.
    clientMaxGapMs: pipeline.clientSessionMaxGapMs ?? 24 * 3_600_000,
    modeLabel: sessionModeLabel(mode),
  };
}
