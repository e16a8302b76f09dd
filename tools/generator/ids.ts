import { feistel, hex8, mix32 } from './prng.js';

/** Sequence-number spaces inside one user, so ids stay stable when noise is turned on/off. */
export const SEQ_NOISE = 0x80000000;
export const SEQ_DEVICE = 0x7f000000;

/**
 * Deterministic, collision-free, uuid-v4-looking id for (a, b). The 64 bits of a
 * keyed bijection of (a, b) are all present in the string, so distinct inputs never
 * collide; the rest is hash filler with the v4 version/variant nibbles.
 */
export function uuidLike(key: number, a: number, b: number): string {
  const [x, y] = feistel(key, a, b);
  const r1 = mix32(x ^ key ^ 0x5bd1e995);
  const r2 = mix32((y + key) ^ 0x27d4eb2f);
  const hx = hex8(x);
  const hy = hex8(y);
  const h1 = hex8(r1);
  const variant = '89ab'[r1 >>> 30] as string;
  return `${hx}-${hy.slice(0, 4)}-4${h1.slice(0, 3)}-${variant}${h1.slice(3, 6)}-${hy.slice(4, 8)}${hex8(r2)}`;
}

export function messageId(key: number, userIndex: number, seq: number): string {
  return uuidLike(key, userIndex, seq);
}

export function anonymousId(key: number, userIndex: number, device: number): string {
  return uuidLike(key ^ 0x1f2e3d4c, userIndex, SEQ_DEVICE + device);
}

export function userIdFor(key: number, userIndex: number): string {
  const [x, y] = feistel(key ^ 0x0badf00d, userIndex, 0x55aa55aa);
  return `usr_${hex8(x)}${hex8(y)}`;
}
