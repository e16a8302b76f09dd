import { InfrastructureError, InterruptedError } from '../errors.js';
import type { Stores } from './open-stores.js';

/**
 * Backpressure for a long-running consumer: a store call that fails with a retriable
 * InfrastructureError (server down, network cut, failover) is retried with backoff instead of
 * ending the run, and the source is paused meanwhile (nothing new is fetched, nothing is
 * acknowledged, so no Kafka offset passes what is stored). One line says what is waited for,
 * one when it is back. Every call that is retried is idempotent: writeBatch is built to be
 * re-delivered, and derivation re-reads what it needs.
 *
 * Aborting `signal` (SIGINT/SIGTERM) ends a wait at once with an InterruptedError.
 */
export interface WaitForStoresOptions {
  log: (message: string) => void;
  signal: AbortSignal;
  /** Called with true when the first call starts waiting, false when none waits any more. */
  onWaiting?: (waiting: boolean) => void;
  /** What else the wait means, for the log line (e.g. "Kafka consumption paused"). */
  waitingNote?: string;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

export function waitForStores(stores: Stores, options: WaitForStoresOptions): Stores {
  let waiting = 0;
  let since = 0;
  const state = {
    enter(name: string, error: InfrastructureError) {
      waiting += 1;
      if (waiting === 1) {
        since = Date.now();
        options.log(
          `waiting for the ${name}: ${error.message}${options.waitingNote ? `; ${options.waitingNote}` : ''}; retrying with backoff (up to every ${Math.round((options.maxDelayMs ?? 5_000) / 1000)} s)`,
        );
        options.onWaiting?.(true);
      }
    },
    leave(name: string, recovered: boolean) {
      waiting -= 1;
      if (waiting === 0) {
        if (recovered) options.log(`the ${name} is back after ${((Date.now() - since) / 1000).toFixed(1)} s; resuming`);
        options.onWaiting?.(false);
      }
    },
  };
  const raw = retrying(stores.raw, `raw store (${stores.raw.engine})`, options, state);
  const analytics = retrying(stores.analytics, `analytics store (${stores.analytics.engine})`, options, state);
  return { raw, analytics, close: () => stores.close() };
}

interface WaitState {
  enter(name: string, error: InfrastructureError): void;
  leave(name: string, recovered: boolean): void;
}

function retrying<T extends object>(target: T, name: string, options: WaitForStoresOptions, state: WaitState): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property === 'close') return method.bind(object);
      return (...args: unknown[]) => {
        const first = method.apply(object, args);
        // Streams (async iterables) and plain values pass through; only promises are retried.
        if (!(first instanceof Promise)) return first;
        return retry(first, () => method.apply(object, args) as Promise<unknown>, name, options, state);
      };
    },
  });
}

async function retry<T>(first: Promise<T>, again: () => Promise<T>, name: string, options: WaitForStoresOptions, state: WaitState): Promise<T> {
  let attempt = first;
  let delay = options.firstDelayMs ?? 500;
  let entered = false;
  try {
    for (;;) {
      try {
        const result = await attempt;
        if (entered) {
          entered = false;
          state.leave(name, true);
        }
        return result;
      } catch (error) {
        if (!isRetriable(error)) throw error;
        if (!entered) {
          entered = true;
          state.enter(name, error);
        }
        await sleep(delay, options.signal, name);
        delay = Math.min(delay * 2, options.maxDelayMs ?? 5_000);
        attempt = again();
      }
    }
  } finally {
    if (entered) state.leave(name, false);
  }
}

/** ClickHouse server errors that pass (overload, timeouts, read-only replica, Keeper): the rest are refused requests. */
const TRANSIENT_CLICKHOUSE_CODES = new Set(['3', '159', '202', '209', '210', '241', '242', '252', '319', '425', '999']);

function isRetriable(error: unknown): error is InfrastructureError {
  if (!(error instanceof InfrastructureError) || !error.retriable) return false;
  // A ClickHouse server that answered with an error (not a network failure) refused the request:
  // retrying the same statement would loop. The client's errors carry a numeric `code` and a `type`.
  const cause = error.cause as { code?: unknown; type?: unknown } | undefined;
  if (cause && typeof cause.type === 'string' && typeof cause.code === 'string' && /^\d+$/.test(cause.code)) return TRANSIENT_CLICKHOUSE_CODES.has(cause.code);
  return true;
}

function sleep(ms: number, signal: AbortSignal, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stopped = () => {
      clearTimeout(timer);
      reject(new InterruptedError(`stopped while waiting for the ${name}`));
    };
    if (signal.aborted) return stopped();
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stopped);
      resolve();
    }, ms);
    signal.addEventListener('abort', stopped, { once: true });
  });
}
