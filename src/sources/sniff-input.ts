import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { constants as zlibConstants, createGunzip, gunzipSync } from 'node:zlib';
import { UsageError } from '../errors.js';

/** Bytes looked at to tell what an input is: a few lines of NDJSON, or a compressed file's header. */
const HEAD_BYTES = 8 * 1024;

export type InputKind = 'ndjson' | 'gzip' | 'other-compressed' | 'binary' | 'csv' | 'json-array';

const MAGIC: Array<{ bytes: number[]; name: string }> = [
  { bytes: [0x50, 0x4b, 0x03, 0x04], name: 'zip' },
  { bytes: [0x42, 0x5a, 0x68], name: 'bzip2' },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], name: 'xz' },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], name: 'zstd' },
  { bytes: [0x50, 0x41, 0x52, 0x31], name: 'Parquet' },
];

/**
 * What the first bytes of an input look like. Only inputs that are clearly not NDJSON are named:
 * a file whose first line is merely a bad event is NDJSON with a rejected line.
 */
export function classifyHead(head: Buffer): { kind: InputKind; detail?: string } {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return { kind: 'gzip' };
  for (const magic of MAGIC) if (magic.bytes.every((byte, index) => head[index] === byte)) return { kind: 'other-compressed', detail: magic.name };
  if (head.includes(0)) return { kind: 'binary' };
  let text = head.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const first = lines[0];
  if (first === undefined) return { kind: 'ndjson' };
  // One JSON document spread over lines, or a JSON array on one line: NDJSON lines are objects.
  if (first.startsWith('[')) return { kind: 'json-array' };
  // A CSV header: no JSON on the first two lines, and the first has commas between plain names.
  const second = lines[1];
  if (!first.startsWith('{') && /^"?[\w .-]+"?(,"?[\w .-]*"?)+$/.test(first) && (second === undefined || !second.startsWith('{'))) return { kind: 'csv' };
  return { kind: 'ndjson' };
}

/** The one-line error for an input that is not NDJSON, with what to do instead. */
export function notNdjsonError(name: string, kind: Exclude<InputKind, 'ndjson' | 'gzip'>, detail?: string): UsageError {
  const shown = name === '-' ? 'stdin' : name;
  switch (kind) {
    case 'other-compressed':
      return new UsageError(`input ${shown} looks like ${detail} data, not NDJSON`, {
        hint: `decompress it first and pipe it in, e.g. \`${detail === 'zstd' ? 'zstd -dc' : detail === 'xz' ? 'xz -dc' : detail === 'bzip2' ? 'bzip2 -dc' : 'unzip -p'} ${shown} | journeyctl run --input -\` (gzip is read directly)`,
      });
    case 'binary':
      return new UsageError(`input ${shown} looks like binary data (it contains NUL bytes), not NDJSON`, { hint: 'pass a file with one JSON event per line' });
    case 'csv':
      return new UsageError(`input ${shown} looks like CSV (its first line is a header of comma-separated names), not NDJSON`, {
        hint: 'convert it to one JSON object per line, e.g. with `mlr --icsv --ojsonl cat`',
      });
    case 'json-array':
      return new UsageError(`input ${shown} looks like one JSON array, not NDJSON (one JSON object per line)`, {
        hint: `convert it with \`jq -c '.[]' ${shown} | journeyctl run --input -\``,
      });
  }
}

/**
 * Opens a file input after looking at its first bytes: NDJSON is streamed as is, gzip is
 * decompressed on the way (zlib, streaming), anything else clearly not NDJSON is a UsageError
 * raised before a store is opened. `size` is what progress measures against: the file size,
 * or for gzip the uncompressed size from the trailer (exact below 4 GiB).
 */
export function openInputFile(path: string, fileSize: number): { stream: Readable; size: number } {
  const head = readHead(path, 0, 64 * 1024);
  const { kind, detail } = classifyHead(head);
  if (kind === 'ndjson') return { stream: createReadStream(path, { highWaterMark: 1 << 20 }), size: fileSize };
  if (kind !== 'gzip') throw notNdjsonError(path, kind, detail);
  let inner: Buffer;
  try {
    inner = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).subarray(0, HEAD_BYTES);
  } catch (error) {
    throw new UsageError(`input ${path} starts like gzip but cannot be decompressed: ${(error as Error).message}`, { hint: 'check the file is complete (gzip -t)' });
  }
  const contents = classifyHead(inner);
  if (contents.kind !== 'ndjson') {
    if (contents.kind === 'gzip') throw new UsageError(`input ${path} is gzip inside gzip`, { hint: `decompress it once first: \`gzip -dc ${path} > events.ndjson.gz\`` });
    throw notNdjsonError(path, contents.kind, contents.detail);
  }
  const trailer = fileSize >= 18 ? readHead(path, fileSize - 4, 4).readUInt32LE(0) : 0;
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), gunzip, () => {});
  return { stream: gunzip, size: trailer >= fileSize ? trailer : fileSize };
}

/**
 * Standard input, looked at before its lines are read (the bytes looked at are handed on).
 * Gzip on stdin is decompressed as well. A trickle is not held up: the look ends as soon as
 * the first line shows what the input is.
 */
export async function sniffStream(name: string, stream: Readable): Promise<Readable> {
  const peeked = await peek(stream);
  const { kind, detail } = classifyHead(peeked.head);
  if (kind === 'ndjson') return peeked.stream;
  if (kind !== 'gzip') throw notNdjsonError(name, kind, detail);
  const gunzip = createGunzip();
  pipeline(peeked.stream, gunzip, () => {});
  const inner = await peek(gunzip);
  const contents = classifyHead(inner.head);
  if (contents.kind !== 'ndjson' && contents.kind !== 'gzip') throw notNdjsonError(name, contents.kind, contents.detail);
  return inner.stream;
}

/** Whether the bytes read so far are enough to classify the input. */
function seenEnough(head: Buffer): boolean {
  if (head.length >= HEAD_BYTES) return true;
  if (head.length >= 6 && classifyHead(head.subarray(0, 6)).kind !== 'ndjson') return true;
  const firstNewline = head.indexOf(0x0a);
  if (firstNewline < 0) return false;
  if (head.indexOf(0x0a, firstNewline + 1) >= 0) return true;
  return /^(\uFEFF)?\s*\{/.test(head.subarray(0, firstNewline).toString('utf8'));
}

/** Reads the first bytes (see seenEnough) and returns them with a stream that still starts at its first byte. */
async function peek(stream: Readable): Promise<{ head: Buffer; stream: Readable }> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let ended = false;
  while (!seenEnough(Buffer.concat(chunks))) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    chunks.push(typeof next.value === 'string' ? Buffer.from(next.value) : next.value);
  }
  const head = Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  }
  return { head, stream: Readable.from(replay(), { objectMode: false }) };
}

function readHead(path: string, position: number, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const read = readSync(fd, buffer, 0, bytes, position);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
