import { describe, expect, it } from 'vitest';
import { messageKey } from './message-key.js';

describe('messageKey', () => {
  it('keeps the values stored in existing data directories', () => {
    // Pinned: every raw store holds these keys; a different function would stop dedup finding them.
    expect(messageKey('')).toBe(3338908027751811);
    expect(messageKey('b78d8c2e-7073-4a6f-a641-11f4fe546ec5')).toBe(2932083731116079);
    expect(messageKey('m1')).toBe(2705337821027120);
  });

  it('is an exact non-negative integer below 2^53 and spreads similar ids apart', () => {
    const keys = new Set<number>();
    for (let i = 0; i < 100_000; i += 1) {
      const key = messageKey(`msg-${i}`);
      expect(Number.isSafeInteger(key) && key >= 0).toBe(true);
      keys.add(key);
    }
    expect(keys.size).toBe(100_000);
  });
});
