// What serving-thread.ts and its thread (serving-worker.ts) say to each other.
import type { ChdbHttpServerOptions } from './chdb-http-server.js';

/** Options that cross to the thread: data only (the thread logs through its replies). */
export type ServedOptions = Omit<ChdbHttpServerOptions, 'log'>;

export type ServingRequest = { type: 'start'; id: number; options: ServedOptions } | { type: 'close'; id: number };

export type ServingReply =
  | { type: 'started'; id: number; url: string; host: string; port: number; engineVersion: string; engineTimezone: string }
  | { type: 'failed'; id: number; message: string }
  | { type: 'closed'; id: number }
  /** The thread runs, and chdb is about to load in it. */
  | { type: 'running' }
  /** Said by serving-thread.ts itself to the requests waiting when the thread ended before it ran. */
  | { type: 'not-started'; id: number; reason: string }
  /** A server's log line (id null: the thread's own, for every server). */
  | { type: 'log'; id: number | null; message: string };
