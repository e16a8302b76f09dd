import { type AcceptedEvent, DEFAULT_EVENT_NAMES, EVENT_TYPES, MAX_MESSAGE_ID_LENGTH, type EventType, type RawEventInput } from '../domain/event.js';
import { isLegalId } from '../domain/identity.js';
import { parseEventTimestamp } from '../domain/time.js';
import { accept, reject, type Outcome } from './outcome.js';

/** The structurally valid parts of an input event; times are parsed but not yet corrected. */
export type ValidatedEvent = Pick<AcceptedEvent, 'messageId' | 'type' | 'event' | 'userId' | 'anonymousId' | 'previousId' | 'appVersion' | 'properties' | 'context' | 'traits'> & {
  timestamp: number | null;
  sentAt: number | null;
  receivedAt: number | null;
};

/**
 * Structural checks of the Segment/RudderStack spec. An illegal userId next to a legal
 * anonymousId is dropped rather than rejected: the activity is real, only the stitch is not.
 */
export function validateEvent(input: RawEventInput): Outcome<ValidatedEvent> {
  const type = input.type === undefined ? 'track' : input.type;
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
    return reject('invalid_type', `type must be one of ${EVENT_TYPES.join('|')}, got ${JSON.stringify(input.type)}`);
  }
  const eventType = type as EventType;
  if (typeof input.messageId !== 'string' || input.messageId.trim() === '') return reject('missing_message_id', 'messageId is missing or not a string');
  if (input.messageId.length > MAX_MESSAGE_ID_LENGTH) return reject('missing_message_id', `messageId is longer than ${MAX_MESSAGE_ID_LENGTH} characters`);
  if (!isWellFormed(input.messageId)) return reject('invalid_id', 'messageId holds a lone surrogate (\\ud800-\\udfff), which is not text');

  const explicitName = nonEmptyString(input.event) ?? (eventType === 'track' ? null : nonEmptyString(input.name));
  const event = explicitName ?? DEFAULT_EVENT_NAMES[eventType] ?? null;
  if (event === null) return reject('missing_event', 'a track call needs an event name');
  if (!isWellFormed(event)) return reject('missing_event', 'the event name holds a lone surrogate (\\ud800-\\udfff), which is not text');

  const sentUserId = idValue(input.userId);
  const sentAnonymousId = idValue(input.anonymousId);
  const sentPreviousId = eventType === 'alias' ? idValue(input.previousId) : null;
  const invalid = sentUserId === INVALID_ID ? 'userId' : sentAnonymousId === INVALID_ID ? 'anonymousId' : sentPreviousId === INVALID_ID ? 'previousId' : null;
  if (invalid !== null || sentUserId === INVALID_ID || sentAnonymousId === INVALID_ID) {
    return reject('invalid_id', `${invalid} must be a string or an integer of at most 2^53 − 1 (no lone surrogates), got ${JSON.stringify(input[invalid ?? 'userId']).slice(0, 80)}`);
  }
  if (sentUserId === undefined || sentAnonymousId === undefined) return reject('missing_identity', 'userId/anonymousId must be strings');
  const userId = sentUserId !== null && isLegalId(sentUserId) ? sentUserId : null;
  const anonymousId = sentAnonymousId !== null && isLegalId(sentAnonymousId) ? sentAnonymousId : null;
  if (userId === null && anonymousId === null) {
    if (sentUserId !== null || sentAnonymousId !== null) {
      return reject('illegal_identity', `ids ${JSON.stringify([sentUserId, sentAnonymousId].filter(Boolean))} are placeholders, not people`);
    }
    return reject('missing_identity', 'neither userId nor anonymousId is set');
  }
  let previousId: string | null = null;
  if (eventType === 'alias') {
    const sentPrevious = sentPreviousId as string | null | undefined;
    if (!sentPrevious || !isLegalId(sentPrevious) || userId === null) return reject('missing_identity', 'an alias call needs a legal previousId and userId');
    previousId = sentPrevious;
  }

  const timestamp = optionalTime(input.timestamp);
  const sentAt = optionalTime(input.sentAt);
  const receivedAt = optionalTime(input.receivedAt);
  if (timestamp === undefined) return reject('invalid_timestamp', `timestamp ${JSON.stringify(input.timestamp)} is not ISO-8601 or epoch ms`);
  if (sentAt === undefined) return reject('invalid_timestamp', `sentAt ${JSON.stringify(input.sentAt)} is not ISO-8601 or epoch ms`);
  if (receivedAt === undefined) return reject('invalid_timestamp', `receivedAt ${JSON.stringify(input.receivedAt)} is not ISO-8601 or epoch ms`);

  const properties = objectValue(input.properties);
  if (properties === undefined) return reject('invalid_properties', 'properties must be an object');
  const context = objectValue(input.context) ?? {};
  const traits = objectValue(input.traits) ?? objectValue(context.traits) ?? {};
  const app = objectValue(context.app);
  const version = app?.version;
  const appVersion = typeof version === 'string' || typeof version === 'number' ? String(version) : null;

  return accept({ messageId: input.messageId, type: eventType, event, userId, anonymousId, previousId, timestamp, sentAt, receivedAt, appVersion, properties, context, traits });
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

const INVALID_ID = Symbol('invalid id');

/**
 * null when absent; undefined when present but of the wrong type; INVALID_ID for a number that
 * is not a safe integer (1.2345678901234568e29 would print as one string for many ids) or a
 * string with a lone surrogate (it cannot be stored as UTF-8 without changing). Integers are
 * accepted as ids (some SDKs send them).
 */
function idValue(value: unknown): string | null | undefined | typeof INVALID_ID {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : INVALID_ID;
  if (typeof value !== 'string') return undefined;
  if (!isWellFormed(value)) return INVALID_ID;
  return value.trim() === '' ? null : value;
}

/** String.prototype.isWellFormed (Node 20; not in the ES2023 lib types): false when a lone surrogate is in it. */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** null when absent; undefined when present but unparseable. */
function optionalTime(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return null;
  return parseEventTimestamp(value) ?? undefined;
}

function objectValue(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}
