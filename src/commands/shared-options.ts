import { Option } from 'commander';

/**
 * Options several commands share, built once so their names, help and defaults never drift.
 * Light on purpose (commander only): command registration imports it. Values are parsed once
 * per command with src/commands/context.ts (parseDurationFlag, parseTimeRange).
 */

/** `--wait <duration>`: how long to wait for another process holding a store (default 5m). */
export function waitOption(holding = 'holding the embedded analytics store'): Option {
  return new Option('--wait <duration>', `how long to wait for another process ${holding}`).default('5m');
}
