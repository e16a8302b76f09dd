import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeDamagedLine, REJECTED_PREFIX_BYTES } from '../domain/damaged-line.js';
import { createLineSplitter, splitLineBytes } from './line-splitter.js';

function split(input: Buffer, chunkSize: number, maxLineBytes = 1_000, stripBom = true): string[] {
  const splitter = createLineSplitter({ maxLineBytes, stripBom });
  const out: string[] = [];
  for (let start = 0; start < input.length; start += chunkSize) splitter.push(input.subarray(start, start + chunkSize), out);
  splitter.end(out);
  return out;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('line splitter', () => {
  const input = Buffer.concat([Buffer.from('\ufeff{"a":"é日本🙂"}\r\n\n  \n'), Buffer.from('{"m":"m-'), Buffer.from([0xff]), Buffer.from('"}\n{"b":2}')]);

  it('gives the same lines however the bytes are chunked: BOM dropped, CRLF and blank lines handled, bad bytes kept', () => {
    const whole = split(input, input.length);
    expect(whole).toHaveLength(3);
    expect(whole[0]).toBe('{"a":"é日本🙂"}');
    expect(decodeDamagedLine(whole[1]!)).toEqual({ reason: 'invalid_utf8', length: 11, sha256: sha256(Buffer.from('{"m":"m-\xff"}', 'latin1')), kept: Buffer.from('{"m":"m-\xff"}', 'latin1') });
    expect(whole[2]).toBe('{"b":2}');
    for (let size = 1; size < input.length; size += 1) expect(split(input, size), `chunks of ${size}`).toEqual(whole);
  });

  it('strips a BOM only at the very start, and only from files and stdin', () => {
    expect(split(Buffer.from('{"a":1}\n\ufeff{"b":2}\n'), 4)).toEqual(['{"a":1}', '\ufeff{"b":2}']);
    expect(splitLineBytes(Buffer.from('\ufeff{"a":1}'), 100)).toEqual(['\ufeff{"a":1}']);
    expect(split(Buffer.from([0xef, 0xbb]), 1)).toEqual([expect.stringMatching(/^\udfff/)]);
  });

  it('never buffers a line over maxLineBytes: keeps a prefix, the real length and the hash of all of it, and goes on', () => {
    const long = Buffer.alloc(REJECTED_PREFIX_BYTES * 3, 'x');
    const text = Buffer.concat([Buffer.from('{"a":1}\n'), long, Buffer.from('\n{"b":2}\n')]);
    for (const size of [7, 4096, text.length]) {
      const lines = split(text, size, REJECTED_PREFIX_BYTES * 2);
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe('{"a":1}');
      const damaged = decodeDamagedLine(lines[1]!)!;
      expect({ ...damaged, kept: damaged.kept.equals(long.subarray(0, REJECTED_PREFIX_BYTES)) }).toEqual({ reason: 'line_too_long', length: long.length, sha256: sha256(long), kept: true });
      expect(lines[2]).toBe('{"b":2}');
    }
  });

  it('splits a Kafka message of several lines, bad bytes kept', () => {
    const lines = splitLineBytes(Buffer.concat([Buffer.from('{"a":1}\r\n'), Buffer.from([0xc3, 0x28, 0x0a])]), 100);
    expect(lines[0]).toBe('{"a":1}');
    expect(decodeDamagedLine(lines[1]!)?.kept).toEqual(Buffer.from([0xc3, 0x28]));
  });
});
