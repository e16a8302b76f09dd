/** Public API of the fixture generator. */
export {
  APPROX_LINES_PER_USER,
  DEFAULT_COHORT_SIZE,
  DEFAULT_DAYS,
  DEFAULT_MAX_LISTED_IDS,
  DEFAULT_RATES,
  DEFAULT_START,
  MAX_BOT_SESSION_MS,
  MIN_BUGGY_LINES,
  MIN_SESSION_GAP_MS,
  createFixture,
  generateEvents,
  generateTruth,
  normalizeOptions,
  usersForEvents,
  type FixtureStream,
  type GeneratorOptions,
  type GeneratorStats,
} from './generate.js';
export { INTENTS, INTENT_WEIGHTS, TIMING, type Intent } from './intents.js';
export { APP_VERSION, BOT_UAS, BUGGY_VERSION } from './catalog.js';
export { formatTruth } from './truth.js';
export type {
  BuggyReason,
  BuggyReleaseTruth,
  GroundTruth,
  IdentityKind,
  MalformedReason,
  NoiseDetail,
  NoiseRates,
  NormalizedOptions,
  TruthCounts,
  TruthIdentityCall,
  TruthSession,
  TruthUser,
} from './truth.js';
export { referencePipeline, referenceValidate, verifyAgainstTruth, PLANNED_EVENTS, MAX_LINE_BYTES } from './verify.js';
