import { describe, expect, it } from 'vitest';
import { BulkLoadKeys } from './bulk-load-keys.js';

describe('BulkLoadKeys', () => {
  it('finds every rowid stored under a key, through growth, and nothing under an unseen key', () => {
    const keys = new BulkLoadKeys();
    // Keys sharing their low 32 bits (the slot hash) and equal keys (collisions of the 53-bit hash) included.
    const keyOf = (rowid: number) => (rowid % 1000 === 0 ? 42 : 4294967296 * (rowid % 5) + rowid * 97);
    for (let rowid = 1; rowid <= 200_000; rowid += 1) keys.add(keyOf(rowid), rowid);
    expect(keys.candidates(42)).toHaveLength(200);
    expect(keys.candidates(42).slice(0, 3)).toEqual([1000, 2000, 3000]);
    for (const rowid of [1, 2, 3, 99_999, 199_999]) expect(keys.candidates(keyOf(rowid))).toEqual([rowid]);
    expect(keys.candidates(4294967296 * 6 + 97)).toEqual([]);
    expect(keys.candidates(-1)).toEqual([]);
  });

  it('keeps a rolled-back rowid as a stale candidate that a reused rowid overwrites', () => {
    const keys = new BulkLoadKeys();
    keys.add(1001, 1);
    keys.add(1002, 2);
    // Rowid 2's insert rolled back; the next insert reuses it under another key.
    keys.add(1003, 2);
    expect(keys.candidates(1003)).toEqual([2]);
    // The stale slot now reads rowid 2's new key, so the old key finds nothing.
    expect(keys.candidates(1002)).toEqual([]);
    expect(keys.candidates(1001)).toEqual([1]);
  });

  it('refuses a rowid it cannot hold', () => {
    const keys = new BulkLoadKeys();
    expect(() => keys.add(1, 0)).toThrow(RangeError);
    expect(() => keys.add(1, 2 ** 32)).toThrow(RangeError);
  });
});
