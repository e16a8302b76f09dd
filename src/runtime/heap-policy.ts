import { setFlagsFromString } from 'node:v8';

/**
 * The process's garbage-collection policy, applied by the `journeyctl` binary (and the benchmark's
 * child, so it measures what users run) before any work.
 *
 * Ingest and derive allocate fast and keep little, so V8's default growth (up to 4× what survived
 * the last full GC) holds mostly garbage; growing by half keeps peak RSS lower at the same speed
 * (figures: docs/decisions/0009). A growth factor, not a ceiling: a large history still fits.
 */
export function applyHeapPolicy(): void {
  setFlagsFromString('--heap-growing-percent=50');
}
