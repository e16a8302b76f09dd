import type { RejectReason } from '../domain/event.js';

/** A per-event outcome is a value, not an exception: bad data never stops a run. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string };

export function accept<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function reject<T = never>(reason: RejectReason, detail: string): Outcome<T> {
  return { ok: false, reason, detail };
}
