import { UsageError } from '../errors.js';
import type { LineProcessor, ProcessedBatch } from './line-processor.js';

export interface AcceptanceGateOptions {
  /** The share is judged once this many lines have been processed (default 1,000). */
  minLines: number;
  /** Fewer valid lines than this share of them stops the run (default 0.01). */
  minShare: number;
  /** The input, as the error names it. */
  input: string;
}

export const DEFAULT_ACCEPTANCE_GATE = { minLines: 1_000, minShare: 0.01 } as const;

/**
 * Wraps the per-line stages so an input that is almost all rejected (a wrong file, a wrong
 * format the sniffer did not recognise) stops the run instead of filling the rejected store.
 * The batch that reaches `minLines` fails instead of being handed on, so it is never stored; the
 * consumer stores batches in order, so on a file (batches of thousands of lines) nothing is.
 */
export function createAcceptanceGate(processor: LineProcessor, options: AcceptanceGateOptions): LineProcessor {
  let seen = 0;
  let valid = 0;
  const reasons = new Map<string, number>();
  let decided = false;
  // Batches are judged in the order they were handed in, whatever order they finish in.
  let previous: Promise<unknown> = Promise.resolve();
  const judge = (lines: number, result: ProcessedBatch): ProcessedBatch => {
    if (decided) return result;
    seen += lines;
    valid += result.accepted.length + result.stored.length;
    for (const line of result.rejected) reasons.set(line.reason, (reasons.get(line.reason) ?? 0) + 1);
    if (seen < options.minLines) return result;
    decided = true;
    if (valid >= options.minShare * seen) return result;
    const [reason, count] = [...reasons].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    const name = options.input === '-' ? 'stdin' : options.input;
    throw new UsageError(
      `input ${name}: only ${valid.toLocaleString('en-US')} of the first ${seen.toLocaleString('en-US')} lines are valid events (under ${formatShare(options.minShare)}; most rejected as ${reason}, ${count.toLocaleString('en-US')} lines); stopped before storing them`,
      { hint: 'check this is the right file and format (NDJSON, one Segment-style event per line); pass --accept-all-rejected to store such an input as rejected lines anyway' },
    );
  };
  return {
    process(lines, arrivedAt) {
      const result = processor.process(lines, arrivedAt);
      if (decided) return result;
      const judged = previous.then(() => result).then((processed) => judge(lines.length, processed));
      previous = judged.catch(() => {});
      return judged;
    },
    close: () => processor.close(),
  };
}

function formatShare(share: number): string {
  return `${Number((share * 100).toPrecision(3))}%`;
}
