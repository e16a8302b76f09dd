import type { RejectReason } from './event.js';

/**
 * Reasons of lines that never became an object (not JSON, not UTF-8, too long, too large, too
 * deep): they carry no time of their own, so they are dated by when journeyctl received them.
 * On a backfill that is the day of the run, not a day of the data: a per-day measurement must
 * not put them beside the data's days (a 2026-01 backfill run in December made the rejected
 * series 333 days long), and totals that count them say so.
 */
export const UNTIMED_REASONS: ReadonlySet<RejectReason> = new Set<RejectReason>(['invalid_json', 'not_an_object', 'invalid_utf8', 'line_too_long', 'payload_too_large', 'too_deeply_nested']);

export function isUntimed(reason: RejectReason): boolean {
  return UNTIMED_REASONS.has(reason);
}
