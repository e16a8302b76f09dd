import type { StoredEvent } from '../domain/event.js';
import type { StoredLine } from '../stores/ports/event-log.js';

/**
 * The client's own session id of a raw event (Amplitude `session_id`, GA4 `ga_session_id`,
 * Snowplow `domain_sessionid`, Segment `context.sessionId`): the first of the dotted paths that
 * holds a non-empty string or a finite number (Amplitude sends epoch ms). Null without one.
 */
export function clientSessionIdOf(doc: unknown, paths: readonly string[]): string | null {
  for (const path of paths) {
    let value: unknown = doc;
    for (const part of path.split('.')) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        value = undefined;
        break;
      }
      value = (value as Record<string, unknown>)[part];
    }
    if (typeof value === 'string' && value.trim() !== '') return value;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return String(value);
  }
  return null;
}

/**
 * Sets `clientSessionId` on each event from its stored line (the raw store keeps one line per
 * message id, the one the event was parsed from), so the id is read with today's paths.
 */
export function attachClientSessionIds(events: readonly StoredEvent[], lines: readonly StoredLine[], paths: readonly string[]): void {
  const byMessage = new Map<string, string | null>();
  for (const line of lines) {
    let doc: unknown;
    try {
      doc = JSON.parse(line.raw);
    } catch {
      continue;
    }
    const messageId = (doc as { messageId?: unknown } | null)?.messageId;
    if (typeof messageId === 'string') byMessage.set(messageId, clientSessionIdOf(doc, paths));
  }
  for (const event of events) event.clientSessionId = byMessage.get(event.messageId) ?? null;
}
