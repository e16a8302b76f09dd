/**
 * Small hand-built journeys with known answers, plus a seeded shuffle. Every event carries
 * receivedAt, so the stored result may not depend on when the test ran.
 */

const MIN = 60_000;
export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

export interface JourneyEvent {
  type?: string;
  messageId: string;
  event?: string;
  userId?: string;
  anonymousId?: string;
  minutes: number;
  /** Device clock offset in minutes (timestamp and sentAt shifted, receivedAt true). */
  skewMinutes?: number;
  /** Arrives this many minutes after it happened (a late event). */
  delayMinutes?: number;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
}

export function toLine(spec: JourneyEvent): string {
  const happened = T0 + spec.minutes * MIN;
  const skew = (spec.skewMinutes ?? 0) * MIN;
  const sent = happened + 1_000 + (spec.delayMinutes ?? 0) * MIN;
  const received = sent + 200;
  return JSON.stringify({
    type: spec.type ?? 'track',
    messageId: spec.messageId,
    ...(spec.event ? { event: spec.event } : {}),
    ...(spec.userId ? { userId: spec.userId } : {}),
    ...(spec.anonymousId ? { anonymousId: spec.anonymousId } : {}),
    timestamp: new Date(happened + skew).toISOString(),
    sentAt: new Date(sent + skew).toISOString(),
    receivedAt: new Date(received).toISOString(),
    properties: spec.properties ?? {},
    ...(spec.traits ? { traits: spec.traits } : {}),
    context: { app: { version: '2.3.0' } },
  });
}

/** A mixed input: stitching, late bridging events, skewed clocks, duplicates and malformed lines. */
export function noisyJourneyLines(): string[] {
  const specs: JourneyEvent[] = [];
  // Alice browses anonymously, identifies, buys; a late event bridges her two visits into one.
  specs.push({ messageId: 'alice-1', event: 'page_viewed', anonymousId: 'anon-alice', minutes: 0 });
  specs.push({ messageId: 'alice-2', event: 'product_viewed', anonymousId: 'anon-alice', minutes: 5, properties: { product_id: 'p1' } });
  specs.push({ type: 'identify', messageId: 'alice-id', userId: 'alice', anonymousId: 'anon-alice', minutes: 6, traits: { plan: 'pro' } });
  specs.push({ messageId: 'alice-3', event: 'product_added', userId: 'alice', anonymousId: 'anon-alice', minutes: 7, properties: { product_id: 'p1' } });
  specs.push({ messageId: 'alice-5', event: 'page_viewed', userId: 'alice', minutes: 60 });
  specs.push({ messageId: 'alice-4', event: 'checkout_started', userId: 'alice', minutes: 33, delayMinutes: 300 });
  // Bob's phone clock is two days fast; his second visit is hours later.
  for (let i = 0; i < 5; i += 1) specs.push({ messageId: `bob-${i}`, event: 'page_viewed', userId: 'bob', minutes: i * 3, skewMinutes: 2 * 24 * 60 });
  for (let i = 5; i < 8; i += 1) specs.push({ messageId: `bob-${i}`, event: 'page_viewed', userId: 'bob', minutes: 240 + i, skewMinutes: 2 * 24 * 60 });
  // Carol uses two devices; only one identifies, the other never does.
  specs.push({ messageId: 'carol-1', event: 'page_viewed', anonymousId: 'carol-laptop', minutes: 100 });
  specs.push({ messageId: 'carol-2', event: 'signup_started', anonymousId: 'carol-laptop', userId: 'carol', minutes: 102 });
  specs.push({ messageId: 'carol-3', event: 'page_viewed', anonymousId: 'carol-phone', minutes: 500 });
  // Many small users so batches and splits cut through users.
  for (let u = 0; u < 25; u += 1) {
    for (let i = 0; i < 6; i += 1) specs.push({ messageId: `u${u}-${i}`, event: i % 2 ? 'button_clicked' : 'page_viewed', anonymousId: `anon-u${u}`, minutes: u * 7 + i * (i === 4 ? 40 : 4) });
  }
  const lines = specs.map(toLine);
  // Exact duplicates and malformed lines.
  lines.push(lines[1]!, lines[10]!, lines[40]!);
  lines.push('{"type":"track","messageId":', '[]', JSON.stringify({ type: 'track', messageId: 'bad-time', event: 'x', anonymousId: 'z', timestamp: 'not-a-date' }));
  return lines;
}

/** A seeded generator of numbers in [0, 1) (mulberry32): the same sequence for a seed on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic Fisher–Yates with a seeded generator. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
