// The ingest service: source → line processor (acceptance gate) → raw store → derivation →
// pipeline facts, assembled once. `run` (file, stdin, Kafka), `demo` and the golden_journeys
// check ingest through it; `run` adds only its flags, the Kafka bounds and the rendering.
import type { Readable } from 'node:stream';
import type { JourneyConfig } from '../config/config.js';
import { createAcceptanceGate, DEFAULT_ACCEPTANCE_GATE } from '../pipeline/acceptance-gate.js';
import { createIngest, type IngestSummary } from '../pipeline/ingest.js';
import { readStoredBursts } from '../pipeline/journey-signals.js';
import { createLineProcessor, type LineProcessorOptions } from '../pipeline/line-processor.js';
import { createPublishPipelineFacts } from '../pipeline/publish-pipeline-facts.js';
import type { ProgressReporter } from '../render/progress.js';
import { createFileSource } from '../sources/file-source.js';
import type { LineSource } from '../sources/source.js';
import { type OpenStoresOptions, openStores } from '../stores/open-stores.js';
import { createDerivation, type DerivationStores } from './derivation.js';
import { noteValidationConfig, storedUnder, validationFingerprint } from './validation-config.js';

/** What an ingest reports: the ingest counts plus its pace and what derivation found. */
export interface IngestReport extends IngestSummary {
  elapsedMs: number;
  /** Release bursts known to the store after this ingest (see `journeyctl report`). */
  releaseBursts: number;
  /** Sessions this ingest wrote that carry a flag (bot_like, clock_skew, …). */
  sessionsFlagged: number;
}

export interface IngestOptions {
  /** Who ingests (the lease holder shown to a waiting process), how long to wait, where messages go. */
  lease: OpenStoresOptions;
  /** No acceptance gate: store an input even when almost none of it is valid (--accept-all-rejected; a Kafka topic is a shared stream, not one input that can be the wrong file). */
  acceptAllRejected?: boolean;
  progress?: ProgressReporter;
  /** Told the counts so far as batches are stored. */
  onIngestProgress?: (summary: IngestSummary) => void;
  /** Runs once the source has ended, before the settling derive (a Kafka run reads its lag here, while still in the group). */
  afterIngest?: () => Promise<void>;
}

const NO_PROGRESS: ProgressReporter = { phase() {}, update() {}, finish() {} };

/** Ingests `source` into open stores and derives what it touched. Closes nothing but what it made (the line processor). */
export async function ingestSource(config: JourneyConfig, stores: DerivationStores, source: LineSource, options: IngestOptions): Promise<IngestReport> {
  const progress = options.progress ?? NO_PROGRESS;
  const startedAt = Date.now();
  let shownPhase = '';
  let sessionsFlagged = 0;
  // A regular file is a backlog that is all there: deriving part-way would re-derive every user
  // whose activity straddles the cut, so it derives once, at the end (docs/decisions/0009); a
  // killed run leaves its dirty marks for the next. A stream (stdin, Kafka) derives every few seconds.
  const backlog = source.totalBytes !== undefined;
  const validation = { pipeline: config.pipeline, trackingPlan: config.trackingPlan };
  // The config noted before the first batch is the one the pre-filter trusts: one fingerprint for both.
  const fingerprint = validationFingerprint(validation);
  const lineProcessor = createLineProcessor(validation, storedCopiesUnder(stores.raw, fingerprint));
  const processor = options.acceptAllRejected ? lineProcessor : createAcceptanceGate(lineProcessor, { ...DEFAULT_ACCEPTANCE_GATE, input: source.description });
  try {
    const derivation = createDerivation(config, stores, {
      // One round for a whole backlog's dirty ids (see BACKLOG_IDS_PER_ROUND), as run always has.
      backlog: true,
      lease: options.lease,
      onProgress: (derived, totalUsers, phase, written) => {
        sessionsFlagged += written?.sessionsFlagged ?? 0;
        if (phase !== shownPhase) progress.phase((shownPhase = phase) === 'deriving' ? 'deriving sessions' : 'writing analytics', 'users');
        progress.update(derived.users, totalUsers, `${derived.users.toLocaleString('en-US')} of ${totalUsers.toLocaleString('en-US')} users`);
      },
    });
    const { signals, deriveDirtyUsers } = derivation;
    const ingest = createIngest({
      raw: stores.raw,
      processor,
      // Copies and release bursts are store-wide inputs of two flags: refreshed before each derive.
      deriveDirtyUsers: derivation.serialised(async () => {
        await signals.refresh({ persist: true });
        return deriveDirtyUsers();
      }),
      lateAfterMs: config.pipeline.lateAfterMs,
      deriveEveryEvents: backlog ? Number.POSITIVE_INFINITY : 250_000,
      deriveIntervalMs: backlog ? Number.POSITIVE_INFINITY : 5_000,
      // Catching up (a whole batch waits behind this one): derive once a minute, not every 5 s (ADR 0020).
      deferWhileBehind: { lines: config.pipeline.batchSize, maxMs: 60_000 },
      onProgress: (summary, bytesRead) => {
        options.onIngestProgress?.(summary);
        if (bytesRead === undefined) return;
        // Once the whole input is read, what remains is storing the batches read ahead.
        const phase = source.totalBytes !== undefined && bytesRead >= source.totalBytes ? 'storing' : 'reading';
        if (phase !== shownPhase) progress.phase((shownPhase = phase), 'lines');
        progress.update(bytesRead, source.totalBytes, `${summary.read.toLocaleString('en-US')} lines from ${source.description}`, summary.read);
      },
    });
    // Before the first batch is stored: reprocess trusts stored fields only under the config noted here.
    await noteValidationConfig(stores.raw, fingerprint, options.lease);
    progress.phase((shownPhase = 'reading'), 'lines');
    const summary = await ingest(source);
    await options.afterIngest?.();
    progress.phase((shownPhase = 'writing analytics'));
    // While a stream runs, bursts are detected at most once a minute: settle them now the input has ended.
    const settled = await derivation.serialised(async () => ((await signals.refresh({ persist: true, force: true })).burstsChanged ? deriveDirtyUsers() : null))();
    if (settled) for (const key of Object.keys(settled) as Array<keyof typeof settled>) summary.derive[key] += settled[key];
    // Dashboards read pipeline health and corrections from a copy in the analytics store.
    await createPublishPipelineFacts({ raw: stores.raw, analytics: stores.analytics, lateAfterMs: config.pipeline.lateAfterMs })();
    const releaseBursts = (await readStoredBursts(stores.raw)).length;
    return { ...summary, elapsedMs: Date.now() - startedAt, releaseBursts, sessionsFlagged };
  } finally {
    await processor.close();
  }
}

/**
 * The re-ingest pre-filter's look-up (docs/decisions/0026): re-sent lines the raw store holds
 * byte-identically skip the per-line stages. Only while every stored event was accepted under
 * this validation config: under another, a stored line might now be rejected, so every line
 * takes the normal path (the look-up answers nothing). Asked once, at the first batch. Where the
 * store can be opened a second time (SQLite), the line worker looks lines up itself.
 */
function storedCopiesUnder(raw: DerivationStores['raw'], fingerprint: string): Pick<LineProcessorOptions, 'storedCopies' | 'storedCopiesReader'> {
  const lookUp = raw.storedCopies?.bind(raw);
  if (lookUp === undefined) return {};
  let trusted: Promise<boolean> | undefined;
  const isTrusted = () => (trusted ??= storedUnder(raw, fingerprint));
  return {
    storedCopies: async (keys) => ((await isTrusted()) ? lookUp(keys) : keys.map(() => null)),
    ...(raw.storedCopiesReader ? { storedCopiesReader: async () => ((await isTrusted()) ? raw.storedCopiesReader!() : null) } : {}),
  };
}

export interface IngestFileOptions {
  /** An NDJSON file, or - for `stdin`. */
  input: string;
  stdin: Readable;
  lease: OpenStoresOptions;
  progress?: ProgressReporter;
}

/** Ingests one NDJSON file into the config's data directory (created if missing): demo and the golden_journeys derivation. */
export async function ingestFile(config: JourneyConfig, options: IngestFileOptions): Promise<IngestReport> {
  const source = createFileSource({ input: options.input, batchSize: config.pipeline.batchSize, maxLineBytes: config.pipeline.maxLineBytes, stdin: options.stdin });
  let stores;
  try {
    stores = await openStores(config, { ...options.lease, create: true });
  } catch (error) {
    await source.close();
    throw error;
  }
  try {
    return await ingestSource(config, stores, source, { lease: options.lease, progress: options.progress });
  } finally {
    options.progress?.finish();
    await source.close();
    await stores.close();
  }
}
