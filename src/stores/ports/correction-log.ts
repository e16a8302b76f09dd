import type { Correction, EventFilter } from '../../domain/correction.js';

/** Steward corrections (append-only) and the look-ups that find which users a correction touches. */
export interface CorrectionLog {
  /** Appends a steward correction (append-only: nothing updates or deletes one) and returns it with its id. */
  appendCorrection(correction: Omit<Correction, 'id'>): Promise<Correction>;
  /** Every correction ever made, reverts included, oldest first. */
  listCorrections(): Promise<Correction[]>;
  /** Identity keys of accepted events matching a steward filter (whose users a correction touches). */
  identityKeysForEvents(filter: EventFilter): Promise<string[]>;
  /** The identity key of each of these message ids that is stored. */
  identityKeysOfMessages(messageIds: readonly string[]): Promise<Map<string, string>>;
}
