import { Option } from 'commander';
import { UsageError } from '../errors.js';

/**
 * One output vocabulary for every command: `table`, `json`, `ndjson`, `csv`, and `text` where a
 * command prints prose. Each command picks the formats it offers and its defaults for a terminal
 * and for a pipe; the option and its resolution are built here so the names never drift.
 * Light on purpose (commander and errors only): command registration imports it.
 */
export const OUTPUT_VOCABULARY = ['table', 'json', 'ndjson', 'csv', 'text'] as const;
export type OutputName = (typeof OUTPUT_VOCABULARY)[number];

export interface OutputChoice<F extends OutputName = OutputName> {
  formats: readonly F[];
  /** The format when stdout is a terminal (and not CI). */
  terminal: F;
  /** The format when stdout is a pipe or a file. */
  pipe: F;
}

/** Every command's formats and defaults, in one place so `--output` means the same everywhere. */
export const OUTPUTS = {
  /** export, flags, doctor, migrate: record listings. */
  records: { formats: ['table', 'json', 'ndjson', 'csv'], terminal: 'table', pipe: 'ndjson' },
  /** fix list, audit. */
  corrections: { formats: ['table', 'json', 'ndjson', 'csv'], terminal: 'table', pipe: 'ndjson' },
  tail: { formats: ['table', 'json', 'ndjson'], terminal: 'table', pipe: 'ndjson' },
  report: { formats: ['table', 'json', 'ndjson'], terminal: 'table', pipe: 'json' },
  check: { formats: ['text', 'table', 'json', 'ndjson', 'csv'], terminal: 'text', pipe: 'json' },
  /** explain, inspect, fix show: prose about one thing. */
  prose: { formats: ['text', 'json'], terminal: 'text', pipe: 'json' },
  /** run, reprocess, produce, repair: a summary of what was done. */
  summary: { formats: ['text', 'json'], terminal: 'text', pipe: 'json' },
  /** fix <change>, flag, unflag: what was (or would be) changed. */
  change: { formats: ['text', 'json', 'ndjson'], terminal: 'text', pipe: 'json' },
} as const satisfies Record<string, OutputChoice>;

/** `-o, --output <format>` with the command's formats and defaults in its help. */
export function outputOption(choice: OutputChoice): Option {
  return new Option('-o, --output <format>', `${choice.formats.join(' | ')} (default: ${choice.terminal} on a terminal, ${choice.pipe} when piped)`);
}

/**
 * The format to print: the requested one, or the default for a terminal or a pipe. `table` and
 * `text` are both "for people": a command offering one takes the other as the same (and the
 * older `pretty` too), so muscle memory works across commands.
 */
export function resolveOutput<F extends OutputName>(requested: string | undefined, choice: OutputChoice<F>, interactive: boolean): F {
  if (requested === undefined) return interactive ? choice.terminal : choice.pipe;
  const formats = choice.formats as readonly string[];
  if (formats.includes(requested)) return requested as F;
  if (requested === 'table' || requested === 'text' || requested === 'pretty') {
    const human = formats.includes('table') ? 'table' : formats.includes('text') ? 'text' : undefined;
    if (human !== undefined) return human as F;
  }
  throw new UsageError(`--output must be one of ${choice.formats.join(', ')} (got "${requested}")`, {
    hint: `every command speaks ${OUTPUT_VOCABULARY.slice(0, 4).join('|')} (plus text for prose); this one offers ${choice.formats.join('|')}`,
  });
}

/** `--fields a,b,c`: the columns to keep, in this order; undefined keeps every field. */
export function parseFields(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const fields = text
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field !== '');
  if (fields.length === 0) throw new UsageError('--fields needs at least one field name, e.g. --fields session_id,user_id,started_at');
  return fields;
}
