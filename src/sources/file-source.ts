import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import { DEFAULT_PIPELINE } from '../config/config.js';
import { createLineSplitter } from './line-splitter.js';
import type { LineBatch, LineSource } from './source.js';
import { openInputFile, sniffStream } from './sniff-input.js';

export interface FileSourceOptions {
  /** A path, or `-` for standard input. */
  input: string;
  batchSize: number;
  stdin?: Readable;
  /** A partial batch is handed on after this long without new input, so a trickling stdin is stored promptly. */
  idleFlushMs?: number;
  /** pipeline.max_line_bytes (default DEFAULT_PIPELINE's): a longer line is never buffered whole. */
  maxLineBytes?: number;
}

const IDLE = Symbol('idle');

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
      throw new UsageError(`cannot read input ${options.input}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}`, {
        hint: 'pass an NDJSON file path, or --input - to read standard input',
      });
    }
    if (stats.isDirectory()) throw new UsageError(`input ${options.input} is a directory`, { hint: 'pass an NDJSON file' });
    totalBytes = stats.isFile() ? stats.size : undefined;
  }
  // A regular file is looked at (gzip is decompressed, other formats refused) before any store opens; a stream when reading starts.
  const opened = totalBytes === undefined ? undefined : openInputFile(options.input, totalBytes);
  if (opened) totalBytes = opened.size;
  let stream: Readable = opened?.stream ?? (fromStdin ? (options.stdin ?? process.stdin) : createReadStream(options.input, { highWaterMark: 1 << 20 }));
  // Read as bytes: the line splitter decodes each line only once it is known to be UTF-8.

  return {
    description: fromStdin ? 'stdin' : options.input,
    totalBytes,
    async *batches(): AsyncIterable<LineBatch> {
      if (!opened) {
        stream = await sniffStream(options.input, stream);
      }
      const idleFlushMs = options.idleFlushMs ?? 500;
      let bytesRead = 0;
      const splitter = createLineSplitter({ maxLineBytes: options.maxLineBytes ?? DEFAULT_PIPELINE.maxLineBytes, stripBom: true });
      let lines: string[] = [];
      const ack = async () => {};
      const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
      let pending = chunks.next();
      try {
        for (;;) {
          const next = lines.length === 0 ? await pending : await Promise.race([pending, delay(idleFlushMs)]);
          if (next === IDLE) {
            yield { lines, arrivedAt: Date.now(), bytesRead, ack };
            lines = [];
            continue;
          }
          if (next.done) break;
          pending = chunks.next();
          const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
          bytesRead += chunk.length;
          splitter.push(chunk, lines);
          if (lines.length >= options.batchSize) {
            let start = 0;
            for (; lines.length - start >= options.batchSize; start += options.batchSize) yield { lines: lines.slice(start, start + options.batchSize), arrivedAt: Date.now(), bytesRead, ack };
            lines = lines.slice(start);
          }
        }
      } catch (error) {
        throw new UsageError(`cannot read input ${fromStdin ? 'stdin' : options.input}: ${(error as Error).message}`);
      }
      splitter.end(lines);
      if (lines.length > 0) yield { lines, arrivedAt: Date.now(), bytesRead, ack };
    },
    async close() {
      if (!fromStdin) stream.destroy();
    },
  };
}

function delay(ms: number): Promise<typeof IDLE> {
  return new Promise((resolve) => setTimeout(() => resolve(IDLE), ms).unref());
}
