/**
 * Small, fast, seedable PRNG (sfc32) plus the hashing used to derive independent
 * streams from one seed. Everything the generator draws comes from here, so the same
 * seed always gives the same bytes, on any machine and Node version.
 */

/** murmur3 fmix32: a good 32-bit avalanche mixer. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over a string's UTF-16 code units, finished with mix32. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** A seed as given by a person (number or string) reduced to 32 bits. */
export function seedToU32(seed: number | string): number {
  if (typeof seed === 'string' && /^\d{1,10}$/.test(seed) && Number(seed) <= 0xffffffff) seed = Number(seed);
  if (typeof seed === 'number' && Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff) {
    return mix32(seed ^ 0x9e3779b9);
  }
  return hashString(String(seed));
}

/** Combine words into one 32-bit key (order matters). */
export function combine(...words: number[]): number {
  let h = 0x2545f491;
  for (const w of words) h = mix32((h ^ (w >>> 0)) + 0x9e3779b9 + (h << 6) + (h >>> 2));
  return h;
}

/** Stream ids: each purpose gets its own independent RNG so that, e.g., turning noise off
 * does not change which sessions a user has. */
export const STREAM = {
  behaviour: 1,
  transport: 2,
  noise: 3,
  bots: 4,
  buggy: 5,
  layout: 6,
  clientSessions: 7,
} as const;

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...key: number[]) {
    const k = combine(...key);
    this.a = mix32(k ^ 0xa341316c);
    this.b = mix32(k ^ 0xc8013ea4);
    this.c = mix32(k ^ 0xad90777d);
    this.d = mix32(k ^ 0x7e95761e);
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Next 32-bit unsigned integer (sfc32). */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    const v = items[Math.floor(this.float() * items.length)];
    if (v === undefined) throw new Error('pick from empty list');
    return v;
  }

  /** Index chosen with the given (not necessarily normalised) weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] ?? 0;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** k distinct items (k ≤ items.length), in draw order. */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = items.slice();
    const out: T[] = [];
    for (let i = 0; i < k && copy.length > 0; i++) {
      const j = Math.floor(this.float() * copy.length);
      out.push(copy[j] as T);
      copy[j] = copy[copy.length - 1] as T;
      copy.pop();
    }
    return out;
  }
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 8 lowercase hex digits of a 32-bit value. */
export function hex8(n: number): string {
  return (HEX2[(n >>> 24) & 255] as string) + (HEX2[(n >>> 16) & 255] as string) + (HEX2[(n >>> 8) & 255] as string) + (HEX2[n & 255] as string);
}

/**
 * A keyed 64-bit bijection (4-round Feistel on two 32-bit halves). Distinct (hi, lo)
 * inputs give distinct outputs, so ids built from it never collide.
 */
export function feistel(key: number, hi: number, lo: number): [number, number] {
  let l = hi >>> 0;
  let r = lo >>> 0;
  for (let round = 0; round < 4; round++) {
    const f = mix32((r ^ Math.imul(key, round + 1)) + 0x632be5ab);
    const nl = r;
    r = (l ^ f) >>> 0;
    l = nl;
  }
  return [l, r];
}
