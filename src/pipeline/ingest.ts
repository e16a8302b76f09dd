import type { AcceptedEvent, RejectedLine, RejectReason } from '../domain/event.js';
import type { RawStore } from '../stores/raw-store.js';
import type { LineSource } from '../sources/source.js';
import type { DeriveSummary } from './derive-dirty-users.js';
import type { createProcessLine } from './process-line.js';

export interface IngestDeps {
  raw: RawStore;
  processLine: ReturnType<typeof createProcessLine>;
  deriveDirtyUsers: () => Promise<DeriveSummary>;
  lateAfterMs: number;
  /** Derive after this many stored events, so a long stream shows sessions before it ends. */
  deriveEveryEvents: number;
  /** ...or after this long with underived events, so a slow stream (stdin, Kafka) shows sessions promptly. */
  deriveIntervalMs: number;
  onProgress?: (progress: IngestSummary, bytesRead: number | undefined) => void;
}

export interface IngestSummary {
  read: number;
  accepted: number;
  /** Earlier-received copies of stored events that replaced them. */
  replaced: number;
  duplicates: number;
  rejected: Partial<Record<RejectReason, number>>;
  /** Rejected lines that were already in the rejected store. */
  rejectedAlreadyStored: number;
  late: number;
  derive: DeriveSummary;
}

export function emptyIngestSummary(): IngestSummary {
  return {
    read: 0,
    accepted: 0,
    replaced: 0,
    duplicates: 0,
    rejected: {},
    rejectedAlreadyStored: 0,
    late: 0,
    derive: { users: 0, sessionsWritten: 0, sessionsDeleted: 0, eventsWritten: 0, eventsDeleted: 0 },
  };
}

/**
 * source → per-line stages → raw store (batch, atomic) → ack → derive touched users. A batch is
 * acknowledged only once the raw store has it; derivation reads back from the raw store, so a
 * crash after the ack loses nothing (the dirty marks survive and the next run derives them).
 */
export function createIngest(deps: IngestDeps) {
  return async function ingest(source: LineSource): Promise<IngestSummary> {
    const summary = emptyIngestSummary();
    let sinceDerive = 0;
    let lastDerive = Date.now();
    const derive = async () => {
      const derived = await deps.deriveDirtyUsers();
      for (const key of Object.keys(derived) as Array<keyof DeriveSummary>) summary.derive[key] += derived[key];
      sinceDerive = 0;
      lastDerive = Date.now();
    };
    for await (const batch of source.batches()) {
      const accepted: AcceptedEvent[] = [];
      const rejected: RejectedLine[] = [];
      for (const line of batch.lines) {
        const outcome = deps.processLine(line, batch.arrivedAt);
        if (outcome.ok) {
          accepted.push(outcome.event);
          if (outcome.event.receivedAt - outcome.event.eventTime > deps.lateAfterMs) summary.late += 1;
        } else {
          rejected.push(outcome.rejected);
          summary.rejected[outcome.rejected.reason] = (summary.rejected[outcome.rejected.reason] ?? 0) + 1;
        }
      }
      const written = await deps.raw.writeBatch(accepted, rejected);
      await batch.ack();
      summary.read += batch.lines.length;
      summary.accepted += written.inserted;
      summary.replaced += written.replaced;
      summary.duplicates += written.duplicates + written.replaced;
      summary.rejectedAlreadyStored += written.rejectedDuplicates;
      sinceDerive += written.inserted + written.replaced;
      if (sinceDerive >= deps.deriveEveryEvents || (sinceDerive > 0 && Date.now() - lastDerive >= deps.deriveIntervalMs)) await derive();
      deps.onProgress?.(summary, batch.bytesRead);
    }
    await derive();
    deps.onProgress?.(summary, undefined);
    return summary;
  };
}
