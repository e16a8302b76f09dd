import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createFileSource } from './file-source.js';
import { classifyHead } from './sniff-input.js';

const EVENTS = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ messageId: `m${i}`, type: 'track', event: 'page_viewed', anonymousId: 'a' })).join('\n') + '\n';

function file(name: string, contents: string | Buffer): string {
  const path = join(mkdtempSync(join(tmpdir(), 'jc-sniff-')), name);
  writeFileSync(path, contents);
  return path;
}

async function readAll(source: ReturnType<typeof createFileSource>): Promise<string[]> {
  const lines: string[] = [];
  for await (const batch of source.batches()) lines.push(...batch.lines);
  await source.close();
  return lines;
}

describe('inputs that are clearly not NDJSON are named, before anything is read into a store', () => {
  it('classifies by the first bytes', () => {
    expect(classifyHead(Buffer.from(EVENTS.slice(0, 500))).kind).toBe('ndjson');
    expect(classifyHead(Buffer.from('\uFEFF{"a":1}\n')).kind).toBe('ndjson');
    expect(classifyHead(Buffer.from('not json\n{"a":1}\n')).kind).toBe('ndjson');
    expect(classifyHead(gzipSync(EVENTS)).kind).toBe('gzip');
    expect(classifyHead(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0])).kind).toBe('other-compressed');
    expect(classifyHead(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1]))).toEqual({ kind: 'binary' });
    expect(classifyHead(Buffer.from('messageId,event,userId\nm1,page_viewed,u1\n')).kind).toBe('csv');
    expect(classifyHead(Buffer.from('[{"messageId":"m1"},\n{"messageId":"m2"}]\n')).kind).toBe('json-array');
  });

  it('refuses CSV, a JSON array, binary and zip files with a hint, when the source is created', () => {
    const cases: Array<[string, string | Buffer, RegExp]> = [
      ['events.csv', 'messageId,event,userId\nm1,page_viewed,u1\n', /looks like CSV/],
      ['events.json', '[\n  {"messageId": "m1"}\n]\n', /looks like one JSON array/],
      ['events.bin', Buffer.from([1, 2, 0, 3, 0, 0, 4]), /looks like binary data/],
      ['events.zip', Buffer.from([0x50, 0x4b, 0x03, 0x04, 9, 9, 9]), /looks like zip data/],
    ];
    for (const [name, contents, message] of cases) {
      const path = file(name, contents);
      expect(() => createFileSource({ input: path, batchSize: 100 })).toThrow(message);
      try {
        createFileSource({ input: path, batchSize: 100 });
      } catch (error) {
        expect((error as Error).message).toContain(path);
        expect((error as { exitCode: number }).exitCode).toBe(2);
      }
    }
  });

  it('reads a gzip file directly, streaming, with the uncompressed size for progress', async () => {
    const path = file('events.ndjson.gz', gzipSync(EVENTS));
    const source = createFileSource({ input: path, batchSize: 1000 });
    expect(source.totalBytes).toBe(Buffer.byteLength(EVENTS));
    const lines = await readAll(source);
    expect(lines).toHaveLength(3000);
    expect(JSON.parse(lines[2999]!).messageId).toBe('m2999');
  });

  it('refuses a gzip file holding CSV, naming the file', () => {
    const path = file('events.csv.gz', gzipSync('messageId,event\nm1,x\n'));
    expect(() => createFileSource({ input: path, batchSize: 100 })).toThrow(/events\.csv\.gz looks like CSV/);
  });

  it('reads gzip on stdin and refuses CSV on stdin', async () => {
    const gz = createFileSource({ input: '-', batchSize: 1000, stdin: Readable.from([gzipSync(EVENTS)]) });
    expect(await readAll(gz)).toHaveLength(3000);
    const csv = createFileSource({ input: '-', batchSize: 1000, stdin: Readable.from([Buffer.from('a,b,c\n1,2,3\n')]) });
    await expect(readAll(csv)).rejects.toThrow(/input stdin looks like CSV/);
  });

  it('does not hold back a trickling stdin: one complete event line is enough to start', async () => {
    const stdin = new PassThrough();
    const source = createFileSource({ input: '-', batchSize: 1000, stdin, idleFlushMs: 10 });
    const batches = source.batches()[Symbol.asyncIterator]();
    stdin.write('{"messageId":"m1"}\n');
    const first = await batches.next();
    expect(first.value?.lines).toEqual(['{"messageId":"m1"}']);
    stdin.end();
    expect((await batches.next()).done).toBe(true);
    await source.close();
  });
});
