import { MAX_NESTING_DEPTH_LIMIT, nestingExceeds } from '../domain/json-depth.js';

/** A message's text parsed, when it is a JSON object (tail of Kafka and Pub/Sub); else null. */
export function parseMessageObject(text: string): Record<string, unknown> | null {
  // Nested deeper than any event may be, it is shown as text: serialising it again would overflow the stack.
  if (!text.startsWith('{') || nestingExceeds(text, MAX_NESTING_DEPTH_LIMIT)) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
