import { render } from 'ink';
import type { Readable, Writable } from 'node:stream';
import { type TailRecord, tailRowCells } from '../tail-records.js';
import { type TailStatus, TailView } from './tail-view.js';

export interface LiveTail {
  /** Prints these records above the status line (once; they scroll away) and shows `status`. */
  push(records: readonly TailRecord[], status: TailStatus): void;
  /** Shows the final status and lets go of the terminal. */
  close(status: TailStatus): Promise<void>;
}

/** The ink view of `journeyctl tail` on a terminal. */
export function startLiveTail(io: { stdout: Writable & { columns?: number }; stderr: Writable; stdin: Readable }, options: { color: boolean; status: TailStatus }): LiveTail {
  const width = () => Math.max(60, io.stdout.columns ?? 120);
  let batch = 0;
  const instance = render(<TailView rows={[]} batch={0} status={options.status} width={width()} color={options.color} />, {
    stdout: io.stdout as NodeJS.WriteStream,
    stderr: io.stderr as NodeJS.WriteStream,
    stdin: io.stdin as NodeJS.ReadStream,
    patchConsole: false,
    exitOnCtrlC: false,
  });
  return {
    push(records, status) {
      batch += 1;
      const rows = records.map((record, index) => ({ id: `${batch}:${index}`, cells: tailRowCells(record) }));
      instance.rerender(<TailView rows={rows} batch={batch} status={status} width={width()} color={options.color} />);
    },
    async close(status) {
      batch += 1;
      instance.rerender(<TailView rows={[]} batch={batch} status={status} width={width()} color={options.color} />);
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
