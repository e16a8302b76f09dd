/**
 * The lifecycle every source follows: read() gives a batch and an ack; the caller acks only
 * after the batch is durable in the stores (a Kafka source commits offsets there). `done`
 * signals the end of a finite input.
 */
export interface LineBatch {
  lines: string[];
  /** When these lines reached journeyctl; the fallback for events without receivedAt. */
  arrivedAt: number;
  /** Input bytes consumed so far, for progress; undefined when unknown. */
  bytesRead?: number;
  /** Messages known to wait in the source behind this batch (Kafka: its partition's lag); undefined when unknown. */
  behind?: number;
  /** Called as a plain function, possibly after the batch object is gone: it must not use `this`. */
  ack(): Promise<void>;
}

export interface LineSource {
  readonly description: string;
  /** Total bytes when known (a regular file), for a progress bar. */
  readonly totalBytes: number | undefined;
  batches(): AsyncIterable<LineBatch>;
  close(): Promise<void>;
}

/**
 * A source that runs until a signal or a bound (Kafka, Pub/Sub): what `run` drives the same way
 * for both (src/commands/stream-run.ts).
 */
export interface StreamLineSource extends LineSource {
  /** Graceful stop: nothing more is handed on; what was not handed on yet is left for redelivery. */
  stop(): void;
  /** Backpressure while a store is down: stop fetching (or let flow control do it). */
  pause(): void;
  resume(): void;
  /** Graceful end at a bound: what is ready is still handed on, then batches() ends. */
  finish(reason: string): void;
  /** Why the run finished by itself ('caught up', a bound) or null (a signal). */
  readonly outcome: { finishedBy: string | null };
}
