import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import type { LineBatch, LineSource } from './source.js';

export interface FileSourceOptions {
  /** A path, or `-` for standard input. */
  input: string;
  batchSize: number;
  stdin?: Readable;
}

/** NDJSON from a file or stdin, streamed in batches; never holds more than one batch of lines. */
export function createFileSource(options: FileSourceOptions): LineSource {
  const fromStdin = options.input === '-';
  let totalBytes: number | undefined;
  if (!fromStdin) {
    let stats;
    try {
      stats = statSync(options.input);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read input ${options.input}: ${code === 'ENOENT' ? 'no such file' : code ?? String(error)}`, {
        hint: 'pass an NDJSON file path, or --input - to read standard input',
      });
    }
    if (stats.isDirectory()) throw new UsageError(`input ${options.input} is a directory`, { hint: 'pass an NDJSON file' });
    totalBytes = stats.isFile() ? stats.size : undefined;
  }
  const stream: Readable = fromStdin ? (options.stdin ?? process.stdin) : createReadStream(options.input, { highWaterMark: 1 << 20 });
  // A string decoder keeps a multi-byte character split across two chunks whole.
  stream.setEncoding('utf8');

  return {
    description: fromStdin ? 'stdin' : options.input,
    totalBytes,
    async *batches(): AsyncIterable<LineBatch> {
      let bytesRead = 0;
      let carry = '';
      let lines: string[] = [];
      const ack = async () => {};
      try {
        for await (const chunk of stream) {
          const text = chunk as string;
          bytesRead += Buffer.byteLength(text);
          const parts = (carry + text).split('\n');
          carry = parts.pop() ?? '';
          for (const part of parts) {
            const line = part.endsWith('\r') ? part.slice(0, -1) : part;
            if (line.trim() !== '') lines.push(line);
            if (lines.length >= options.batchSize) {
              yield { lines, arrivedAt: Date.now(), bytesRead, ack };
              lines = [];
            }
          }
        }
      } catch (error) {
        throw new UsageError(`cannot read input ${fromStdin ? 'stdin' : options.input}: ${(error as Error).message}`);
      }
      if (carry.trim() !== '') lines.push(carry.endsWith('\r') ? carry.slice(0, -1) : carry);
      if (lines.length > 0) yield { lines, arrivedAt: Date.now(), bytesRead, ack };
    },
    async close() {
      if (!fromStdin) stream.destroy();
    },
  };
}
