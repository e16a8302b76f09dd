import { setFlagsFromString } from 'node:v8';

/**
 * The process's garbage-collection policy, applied by the `journeyctl` binary (and the benchmark's
 * child, so it measures what users run) before any work.
 *
 * V8 lets the heap grow to up to four times what survived the last full collection before it
 * collects again. Ingest and derive allocate fast and keep little (~100 MB live), so the heap sat
 * at 300–650 MB of mostly garbage and peak RSS passed 1.2 GiB on a million events. Growing by
 * half instead keeps peak RSS near 0.9 GiB for the same run time (measured: 1M events, 37.9 s →
 * 39–41 s, within run-to-run noise, 1.25–1.39 GiB → 0.90 GiB). It is a growth factor, not a
 * ceiling: a user with a very large history still gets the memory it needs.
 */
export function applyHeapPolicy(): void {
  setFlagsFromString('--heap-growing-percent=50');
}
