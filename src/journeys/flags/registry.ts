/**
 * The shipped automatic flags, in detection order (the order a session's findings list them).
 * A new flag is one file in this folder plus one line here (and its test); see docs/decisions.
 */
import { botLike } from './bot-like.js';
import { clientSessionReused } from './client-session-reused.js';
import { clockSkew } from './clock-skew.js';
import { duplicateStorm } from './duplicate-storm.js';
import { identityConflict } from './identity-conflict.js';
import { createFlagRegistry } from './kind.js';
import { overlongSession } from './overlong-session.js';
import { releaseBurst } from './release-burst.js';

export const SHIPPED_FLAG_KINDS = [duplicateStorm, releaseBurst, botLike, clockSkew, overlongSession, clientSessionReused, identityConflict] as const;

export const FLAG_KINDS = createFlagRegistry(SHIPPED_FLAG_KINDS);
