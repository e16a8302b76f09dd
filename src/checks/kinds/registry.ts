/**
 * The shipped check types, in the order `--help` and error messages list them. A new type is
 * one file in this folder plus one line here (and its test); see docs/decisions/0004-registries.md.
 */
import { acceptedValues } from './accepted-values.js';
import { clientSessions } from './client-sessions.js';
import { duplicateRate } from './duplicate-rate.js';
import { flaggedShare } from './flagged-share.js';
import { freshness } from './freshness.js';
import { funnelConversion } from './funnel-conversion.js';
import { identityConflicts } from './identity-conflicts.js';
import { goldenJourneys } from './golden-journeys.js';
import { createCheckRegistry } from './kind.js';
import { lateRate } from './late-rate.js';
import { missingRate } from './missing-rate.js';
import { reconcile } from './reconcile.js';
import { rejectedRate } from './rejected-rate.js';
import { sql } from './sql.js';
import { volume } from './volume.js';

export const SHIPPED_CHECK_KINDS = [
  freshness,
  volume,
  rejectedRate,
  duplicateRate,
  lateRate,
  missingRate,
  acceptedValues,
  flaggedShare,
  funnelConversion,
  reconcile,
  clientSessions,
  identityConflicts,
  goldenJourneys,
  sql,
] as const;

export const CHECK_KINDS = createCheckRegistry(SHIPPED_CHECK_KINDS);
