import { describe, expect, it } from 'vitest';
import { createTailBuffer } from './tail-buffer.js';

describe('tail buffer', () => {
  it('keeps what fits; a full buffer waits for a take that makes room, so a taker that keeps up loses nothing', async () => {
    const buffer = createTailBuffer<number>(2);
    await buffer.offer(1, false);
    await buffer.offer(2, false);
    const third = buffer.offer(3, false); // full: waits for room
    expect(await buffer.take(60_000, false)).toEqual([1, 2]);
    await third;
    expect(await buffer.take(60_000, false)).toEqual([3]);
    expect(buffer.dropped).toBe(0);
  });

  it('drops and counts without waiting when the buffer is full and the tail is closing', async () => {
    const buffer = createTailBuffer<number>(1);
    await buffer.offer(1, true); // closed: no grace
    await buffer.offer(2, true);
    expect(buffer.dropped).toBe(1);
    expect(await buffer.take(60_000, true)).toEqual([1]);
    expect(buffer.size).toBe(0);
  });

  it('a take on an empty buffer returns at once when nothing more will come, and when released', async () => {
    const buffer = createTailBuffer<number>(1);
    expect(await buffer.take(60_000, true)).toEqual([]);
    const waiting = buffer.take(60_000, false);
    buffer.release();
    expect(await waiting).toEqual([]);
  });
});
