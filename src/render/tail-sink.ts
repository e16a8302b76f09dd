// Where `tail` writes its records: NDJSON, a JSON array, the live ink view on a terminal, or the
// view's columns as plain text into a pipe. The follow loop stays in src/commands/tail.ts.
import type { Readable, Writable } from 'node:stream';
import { write } from './output.js';
import { formatTailLine, TAIL_HEADER, tailColumns, type TailRecord, tailRowCells } from './tail-records.js';
import type { startLiveTail } from './views/live-tail.js';
import type { TailStatus } from './views/tail-view.js';

export interface TailSink {
  write(records: readonly TailRecord[], status: TailStatus): Promise<void>;
  close(status: TailStatus): Promise<void>;
  /** True when the terminal is drawn by ink: remarks go into its status line, not stderr. */
  readonly live: boolean;
}

type TailSinkIo = Parameters<typeof startLiveTail>[0];

export interface TailSinkOptions {
  /** A resolved --output: ndjson, json, or pretty (the live view on a terminal, columns otherwise). */
  output: string;
  color: boolean;
  /** stdout (and stdin) is a terminal: draw the live view. */
  interactive: boolean;
  status: TailStatus;
}

/** The live view (ink, react: ~0.4 CPU-s to load) loads only when it is drawn, not for a tail into a pipe. */
export async function openTailSink(io: TailSinkIo, { output, color, interactive, status }: TailSinkOptions): Promise<TailSink> {
  const { stdout } = io;
  if (output === 'ndjson') {
    return {
      live: false,
      async write(records) {
        for (const record of records) await write(stdout, `${JSON.stringify(record)}\n`);
      },
      async close() {},
    };
  }
  if (output === 'json') {
    let count = 0;
    return {
      live: false,
      async write(records) {
        for (const record of records) await write(stdout, `${count++ === 0 ? '[\n' : ',\n'}${JSON.stringify(record)}`);
      },
      async close() {
        await write(stdout, count === 0 ? '[]\n' : '\n]\n');
      },
    };
  }
  if (interactive) {
    const live = (await import('./views/live-tail.js')).startLiveTail(io, { color, status: { ...status } });
    return {
      live: true,
      async write(records, current) {
        live.push(records, { ...current });
      },
      close: (final) => live.close({ ...final }),
    };
  }
  // --output pretty into a pipe or a file: the view's columns as plain text.
  const columns = tailColumns(Math.max(100, stdout.columns ?? 160));
  let headed = false;
  return {
    live: false,
    async write(records) {
      if (!headed) {
        headed = true;
        await write(stdout, `${formatTailLine(TAIL_HEADER, columns)}\n`);
      }
      for (const record of records) await write(stdout, `${formatTailLine(tailRowCells(record), columns)}\n`);
    },
    async close() {},
  };
}
