import type { RejectReason } from '../domain/event.js';
import { createCondition } from '../runtime/condition.js';
import type { RawStore } from '../stores/raw-store.js';
import type { LineBatch, LineSource } from '../sources/source.js';
import type { DeriveSummary } from './derive-dirty-users.js';
import type { LineProcessor, ProcessedBatch } from './line-processor.js';
import { noteStoredLinesChanged } from './publish-pipeline-facts.js';

export interface IngestDeps {
  raw: RawStore;
  processor: LineProcessor;
  deriveDirtyUsers: () => Promise<DeriveSummary>;
  lateAfterMs: number;
  /** Derive after this many stored events, so a long stream shows sessions before it ends. */
  deriveEveryEvents: number;
  /** ...or after this long with underived events, so a slow stream (stdin, Kafka) shows sessions promptly. */
  deriveIntervalMs: number;
  /**
   * ...but not while the source says at least `lines` wait behind the batch, for up to `maxMs` since
   * the last derive: a consumer catching up would otherwise derive the same users again every interval.
   */
  deferWhileBehind?: { lines: number; maxMs: number };
  onProgress?: (progress: IngestSummary, bytesRead: number | undefined) => void;
  /** Where the raw store groups writes: commit a group after this many lines (default LINES_PER_COMMIT, BACKLOG_LINES_PER_COMMIT for a backlog)... */
  linesPerCommit?: number;
  /** ...or once it is this old (default COMMIT_EVERY_MS, BACKLOG_COMMIT_EVERY_MS); tests pass Infinity to take the clock out. */
  commitEveryMs?: number;
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

/** Batches read ahead of the ones being stored: enough to keep the worker busy, few enough to bound memory (~5 MB each). */
const READ_AHEAD = 8;
/** Whole batches already read are stored together, up to this many lines per write. */
const MAX_LINES_PER_WRITE = 20_000;
/**
 * Where the raw store groups writes (see RawStore.beginWriteGroup), a group commits after this
 * many lines or this long, or as soon as nothing more is ready to store, so a trickling source
 * is durable (and acknowledged) as promptly as with one commit per batch.
 */
const LINES_PER_COMMIT = 200_000;
const COMMIT_EVERY_MS = 2_000;
/**
 * A backlog (a source that knows its size: a regular file) commits by size and age only, never
 * because nothing is ready yet: its next batch is moments away, and every commit rewrites most
 * index pages, so committing whenever the reader lagged made a file's commit cost grow with the
 * store (figures: docs/decisions/0027). 8 s keeps another process's write (a lease, a
 * correction) well inside SQLite's 15 s busy timeout.
 */
const BACKLOG_LINES_PER_COMMIT = 1_000_000;
const BACKLOG_COMMIT_EVERY_MS = 8_000;

interface InFlight {
  batch: LineBatch;
  processed: Promise<ProcessedBatch>;
  /** Set once processed has resolved, so the consumer can tell which batches are ready without waiting. */
  result?: ProcessedBatch;
}

/**
 * source → per-line stages → raw store (batch, atomic) → ack → derive touched users. A batch is
 * acknowledged only once the raw store has it; derivation reads back from the raw store, so a
 * crash after the ack loses nothing (the dirty marks survive and the next run derives them).
 *
 * Reading and the per-line stages run ahead of storing (at most READ_AHEAD batches), so on a
 * bulk input the worker thread processes the next batches while this thread writes. Batches
 * are stored, acknowledged and counted strictly in source order, so the outcome is the same as
 * one batch at a time. Batches that are ready together are stored in one write, and where the
 * raw store groups writes, consecutive writes share one commit while input keeps coming: a batch
 * is never split across commits, and none is acknowledged before its commit.
 */
export function createIngest(deps: IngestDeps) {
  return async function ingest(source: LineSource): Promise<IngestSummary> {
    const summary = emptyIngestSummary();
    const backlog = source.totalBytes !== undefined;
    const linesPerCommit = deps.linesPerCommit ?? (backlog ? BACKLOG_LINES_PER_COMMIT : LINES_PER_COMMIT);
    const commitEveryMs = deps.commitEveryMs ?? (backlog ? BACKLOG_COMMIT_EVERY_MS : COMMIT_EVERY_MS);
    let sinceDerive = 0;
    let lastDerive = Date.now();
    const timedDeriveDue = (behind: number | undefined) => {
      const since = Date.now() - lastDerive;
      const defer = deps.deferWhileBehind;
      if (defer !== undefined && behind !== undefined && behind >= defer.lines && since < defer.maxMs) return false;
      return since >= deps.deriveIntervalMs;
    };
    const derive = async () => {
      const derived = await deps.deriveDirtyUsers();
      for (const key of Object.keys(derived) as Array<keyof DeriveSummary>) summary.derive[key] += derived[key];
      sinceDerive = 0;
      lastDerive = Date.now();
    };

    // Batches stored in the open write group, acknowledged when it commits. Only the ack is kept:
    // holding the batches would hold their lines until the commit.
    const grouped = deps.raw.beginWriteGroup !== undefined && deps.raw.commitWriteGroup !== undefined;
    let groupOpen = false;
    let groupOpenedAt = 0;
    let groupLines = 0;
    let linesChangeNoted = false;
    const noteLinesChanged = async () => {
      if (linesChangeNoted) return;
      await noteStoredLinesChanged(deps.raw);
      linesChangeNoted = true;
    };
    const unacked: Array<LineBatch['ack']> = [];
    const commitGroup = async () => {
      if (groupOpen) {
        await deps.raw.commitWriteGroup!();
        groupOpen = false;
      }
      groupLines = 0;
      for (const ack of unacked.splice(0)) await ack();
    };

    // Producer: reads batches and hands them to the processor; consumer (below): stores them in order.
    const queue: InFlight[] = [];
    let readDone = false;
    let readError: { error: unknown } | null = null;
    let stopped = false;
    // Both sides wait on the state (queue, readDone, stopped), never on a one-shot signal: a batch
    // queued or the input ending while the consumer is inside an await (a commit) is seen when it
    // next waits. (A wake-up installed after the commit lost them, and a stopped consumer hung.)
    const changed = createCondition();
    const producer = (async () => {
      try {
        for await (const batch of source.batches()) {
          if (stopped) break;
          const processed = deps.processor.process(batch.lines, batch.arrivedAt);
          const entry: InFlight = { batch, processed };
          // Failures are awaited by the consumer, in order; this only keeps an early one from being reported as unhandled.
          processed.then((result) => (entry.result = result)).catch(() => {});
          queue.push(entry);
          changed.notify();
          await changed.until(() => queue.length < READ_AHEAD || stopped);
          if (stopped) break;
        }
      } catch (error) {
        readError = { error };
      } finally {
        readDone = true;
        changed.notify();
      }
    })();

    // A backlog into a store with no events yet builds the read-only indexes once, at its end (ADR 0028).
    let bulkLoading = backlog && deps.raw.beginBulkLoad !== undefined ? await deps.raw.beginBulkLoad() : false;
    const endBulkLoad = async (options: { ingestDone?: boolean } = {}) => {
      if (!bulkLoading) return;
      bulkLoading = false;
      await deps.raw.endBulkLoad!(options);
    };

    try {
      for (;;) {
        const next = queue[0];
        if (next === undefined) {
          if (readDone) break;
          // Nothing ready: make what is stored durable before waiting (a trickle commits per batch; a backlog does not).
          if (!backlog) await commitGroup();
          await changed.until(() => queue.length > 0 || readDone);
          continue;
        }
        next.result = await next.processed;
        // This batch and the ones already read behind it go into one transaction (each batch whole
        // inside it): SQLite writes every index page a transaction touches, the message-id index
        // takes random keys, so 5k-line transactions rewrote most of it each time (~3 KB written
        // per event at 500k events). Waiting here is for the worker only, never for more input,
        // so a trickling source is stored as promptly as before.
        const group = [queue.shift()!];
        let lines = next.batch.lines.length;
        while (queue.length > 0 && lines + queue[0]!.batch.lines.length <= MAX_LINES_PER_WRITE) {
          const entry = queue.shift()!;
          entry.result = await entry.processed;
          lines += entry.batch.lines.length;
          group.push(entry);
        }
        changed.notify();
        const accepted = group.length === 1 ? next.result.accepted : group.flatMap((entry) => entry.result!.accepted);
        const rejected = group.length === 1 ? next.result.rejected : group.flatMap((entry) => entry.result!.rejected);
        for (const event of accepted) if (event.receivedAt - event.eventTime > deps.lateAfterMs) summary.late += 1;
        // Lines already stored byte-identically (the pre-filter): duplicates, late as their stored copy was.
        let alreadyStored = 0;
        for (const entry of group) {
          alreadyStored += entry.result!.stored.length;
          for (const copy of entry.result!.stored) if (copy.receivedAt - copy.eventTime > deps.lateAfterMs) summary.late += 1;
        }
        for (const line of rejected) summary.rejected[line.reason] = (summary.rejected[line.reason] ?? 0) + 1;
        if (grouped && !groupOpen) {
          await deps.raw.beginWriteGroup!();
          groupOpen = true;
          groupOpenedAt = Date.now();
        }
        // The dashboards' copy of pipeline facts is published again only if the stored lines changed
        // (publish-pipeline-facts.ts). Noted in the write group of the batch that changed them, so
        // a kill loses both or neither; a store without groups notes it before its first write.
        if (!grouped) await noteLinesChanged();
        const written = await deps.raw.writeEncodedBatch(accepted, rejected);
        if (written.inserted + written.replaced + (written.copiesAdded ?? written.duplicates) + rejected.length - written.rejectedDuplicates > 0) await noteLinesChanged();
        for (const entry of group) unacked.push(entry.batch.ack);
        groupLines += lines;
        if (!groupOpen || groupLines >= linesPerCommit || Date.now() - groupOpenedAt >= commitEveryMs) await commitGroup();
        const batch = group[group.length - 1]!.batch;
        summary.read += lines;
        summary.accepted += written.inserted;
        summary.replaced += written.replaced;
        summary.duplicates += written.duplicates + written.replaced + alreadyStored;
        summary.rejectedAlreadyStored += written.rejectedDuplicates;
        sinceDerive += written.inserted + written.replaced;
        if (sinceDerive >= deps.deriveEveryEvents || (sinceDerive > 0 && timedDeriveDue(batch.behind))) {
          await commitGroup();
          await endBulkLoad();
          await derive();
        }
        deps.onProgress?.(summary, batch.bytesRead);
      }
      await commitGroup();
    } catch (error) {
      // Stop reading ahead; a producer waiting on the source (an idle stdin) is abandoned, not awaited.
      stopped = true;
      changed.notify();
      // The open group's batches were never acknowledged: a redelivery or a rerun stores them again.
      if (groupOpen) await deps.raw.abandonWriteGroup?.().catch(() => {});
      // Best effort: if this fails too, the next process to open the store builds the indexes.
      await endBulkLoad().catch(() => {});
      throw error;
    }
    await producer;
    if (readError !== null) {
      await endBulkLoad().catch(() => {});
      throw (readError as { error: unknown }).error;
    }
    // Everything is stored: let the worker thread (and its heap, ~50 MB) go before the last derive.
    await deps.processor.close();
    await endBulkLoad({ ingestDone: true });
    await derive();
    deps.onProgress?.(summary, undefined);
    return summary;
  };
}
