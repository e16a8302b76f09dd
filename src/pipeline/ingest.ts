import type { RejectReason } from '../domain/event.js';
import type { RawStore } from '../stores/raw-store.js';
import type { LineBatch, LineSource } from '../sources/source.js';
import type { DeriveSummary } from './derive-dirty-users.js';
import type { LineProcessor, ProcessedBatch } from './line-processor.js';

export interface IngestDeps {
  raw: RawStore;
  processor: LineProcessor;
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

/** Batches read ahead of the one being stored: enough to keep the worker busy, few enough to bound memory. */
const READ_AHEAD = 2;

interface InFlight {
  batch: LineBatch;
  processed: Promise<ProcessedBatch>;
}

/**
 * source → per-line stages → raw store (batch, atomic) → ack → derive touched users. A batch is
 * acknowledged only once the raw store has it; derivation reads back from the raw store, so a
 * crash after the ack loses nothing (the dirty marks survive and the next run derives them).
 *
 * Reading and the per-line stages run ahead of storing (at most READ_AHEAD batches), so on a
 * bulk input the worker thread processes the next batch while this thread writes one. Batches
 * are stored, acknowledged and counted strictly in source order, so the outcome is the same as
 * one batch at a time.
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

    // Producer: reads batches and hands them to the processor; consumer (below): stores them in order.
    const queue: InFlight[] = [];
    let readDone = false;
    let readError: { error: unknown } | null = null;
    let stopped = false;
    let wakeConsumer: (() => void) | null = null;
    let wakeProducer: (() => void) | null = null;
    const signal = (which: 'consumer' | 'producer') => {
      const wake = which === 'consumer' ? wakeConsumer : wakeProducer;
      if (which === 'consumer') wakeConsumer = null;
      else wakeProducer = null;
      wake?.();
    };
    const producer = (async () => {
      try {
        for await (const batch of source.batches()) {
          if (stopped) break;
          const processed = deps.processor.process(batch.lines, batch.arrivedAt);
          // Awaited by the consumer in order; this only keeps an early failure from being reported as unhandled.
          processed.catch(() => {});
          queue.push({ batch, processed });
          signal('consumer');
          while (queue.length >= READ_AHEAD && !stopped) await new Promise<void>((resolve) => (wakeProducer = resolve));
          if (stopped) break;
        }
      } catch (error) {
        readError = { error };
      } finally {
        readDone = true;
        signal('consumer');
      }
    })();

    try {
      for (;;) {
        const next = queue[0];
        if (next === undefined) {
          if (readDone) break;
          await new Promise<void>((resolve) => (wakeConsumer = resolve));
          continue;
        }
        const { accepted, rejected } = await next.processed;
        const batch = next.batch;
        queue.shift();
        signal('producer');
        for (const event of accepted) if (event.receivedAt - event.eventTime > deps.lateAfterMs) summary.late += 1;
        for (const line of rejected) summary.rejected[line.reason] = (summary.rejected[line.reason] ?? 0) + 1;
        const written = await deps.raw.writeEncodedBatch(accepted, rejected);
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
    } catch (error) {
      // Stop reading ahead; a producer waiting on the source (an idle stdin) is abandoned, not awaited.
      stopped = true;
      signal('producer');
      throw error;
    }
    await producer;
    if (readError !== null) throw (readError as { error: unknown }).error;
    await derive();
    deps.onProgress?.(summary, undefined);
    return summary;
  };
}
