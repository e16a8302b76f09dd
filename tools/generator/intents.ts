/**
 * Session intents: what a person came to do, turned into a timed sequence of events.
 * Each intent is either a pattern the pipeline should label or a deliberate near miss
 * of one (single_product_add vs compare_then_add, checkout_minor_trouble vs
 * checkout_struggle, onboarding_dropoff vs onboarding_complete, fast_human vs bot).
 */
import { BROWSE_TARGETS, CATEGORIES, CHECKOUT_FIELDS, PRODUCT_MAX, PRODUCT_MIN, RAGE_TARGETS, SEARCH_QUERIES, SIGNUP_FIELDS, SIGNUP_METHODS, productPrice } from './catalog.js';
import type { Rng } from './prng.js';

export const INTENTS = [
  'browse',
  'compare_then_add',
  'single_product_add',
  'checkout_struggle',
  'checkout_minor_trouble',
  'checkout_success',
  'onboarding_dropoff',
  'onboarding_complete',
  'rage_click',
  'fast_human',
] as const;
export type Intent = (typeof INTENTS)[number];

/** Relative frequency of each intent for a human session. */
export const INTENT_WEIGHTS: Readonly<Record<Intent, number>> = {
  browse: 22,
  compare_then_add: 10,
  single_product_add: 10,
  checkout_struggle: 7,
  checkout_minor_trouble: 7,
  checkout_success: 10,
  onboarding_dropoff: 8,
  onboarding_complete: 7,
  rage_click: 8,
  fast_human: 11,
};
const INTENT_WEIGHT_LIST = INTENTS.map((i) => INTENT_WEIGHTS[i]);

/** Timing bounds (ms) the generator promises; tests check them. */
export const TIMING = {
  humanGapMin: 5_000,
  humanGapMax: 600_000,
  fastGapMin: 1_100,
  fastGapMax: 3_000,
  rageGapMin: 200,
  rageGapMax: 900,
  minEventsPerSession: 3,
  maxEventsPerSession: 40,
  fastMaxEvents: 30,
} as const;

export interface PlannedEvent {
  /** ms since session start, true (server) time. */
  offset: number;
  type: 'track' | 'page';
  event: string;
  /** Page the event happened on (context.page.path). */
  path: string;
  properties: Record<string, unknown>;
}

export interface PlannedSession {
  intent: Intent;
  events: PlannedEvent[];
  /** Index of the event after which an identify naturally happens (signup submitted); null = anywhere. */
  identifyAnchor: number | null;
}

type GapMode = 'human' | 'fast';

class SessionBuilder {
  readonly events: PlannedEvent[] = [];
  private t = 0;
  private path = '/';
  identifyAnchor: number | null = null;

  constructor(
    readonly rng: Rng,
    private readonly newId: (prefix: string) => string,
    private readonly mode: GapMode = 'human',
  ) {}

  get count(): number {
    return this.events.length;
  }

  gap(): number {
    const r = this.rng;
    if (this.mode === 'fast') return r.int(TIMING.fastGapMin, TIMING.fastGapMax);
    // Heavy-tailed dwell time: median ≈ 25 s, from 5 s to 10 min.
    const g = TIMING.humanGapMin * Math.pow(TIMING.humanGapMax / TIMING.humanGapMin, Math.pow(r.float(), 1.6));
    return Math.min(TIMING.humanGapMax, Math.max(TIMING.humanGapMin, Math.round(g)));
  }

  private push(gap: number | undefined, type: 'track' | 'page', event: string, properties: Record<string, unknown>): void {
    if (this.events.length > 0) this.t += gap ?? this.gap();
    this.events.push({ offset: this.t, type, event, path: this.path, properties });
  }

  page(path: string, gap?: number): void {
    this.path = path;
    this.push(gap, 'page', 'page_viewed', { path });
  }

  track(event: string, properties: Record<string, unknown>, gap?: number, path?: string): void {
    if (path !== undefined) this.path = path;
    this.push(gap, 'track', event, properties);
  }

  productView(productId: number): void {
    this.track('product_viewed', { product_id: productId, price: productPrice(productId) }, undefined, `/products/${productId}`);
  }

  /** Returns the line value (price × quantity). */
  productAdd(productId: number, cartId: string): number {
    const quantity = this.rng.chance(0.85) ? 1 : 2;
    const price = productPrice(productId);
    this.track('product_added', { product_id: productId, cart_id: cartId, quantity, price });
    return price * quantity;
  }

  click(target: string, gap?: number): void {
    this.track('button_clicked', { target }, gap);
  }

  search(): void {
    const query = this.rng.pick(SEARCH_QUERIES);
    this.track('search_performed', { query, results: this.rng.int(0, 60) }, undefined, `/search?q=${encodeURIComponent(query)}`);
  }

  categoryPage(): void {
    this.page(`/category/${this.rng.pick(CATEGORIES)}`);
  }

  id(prefix: string): string {
    return this.newId(prefix);
  }

  markIdentifyAnchor(): void {
    this.identifyAnchor = this.events.length - 1;
  }
}

function randomProduct(rng: Rng): number {
  return rng.int(PRODUCT_MIN, PRODUCT_MAX);
}

function distinctProducts(rng: Rng, k: number): number[] {
  const set = new Set<number>();
  while (set.size < k) set.add(randomProduct(rng));
  return [...set];
}

/** Browsing filler that never adds to cart, never checks out and never repeats a click target. */
function browseFiller(b: SessionBuilder, until: number, usedTargets: Set<string>, allowProducts = true): void {
  while (b.count < until) {
    const k = b.rng.weighted([3, allowProducts ? 4 : 0, 2, 2]);
    if (k === 0) b.categoryPage();
    else if (k === 1) b.productView(randomProduct(b.rng));
    else if (k === 2) b.search();
    else {
      const free = BROWSE_TARGETS.filter((t) => !usedTargets.has(t));
      if (free.length === 0) {
        b.categoryPage();
        continue;
      }
      const target = b.rng.pick(free);
      usedTargets.add(target);
      b.click(target);
    }
  }
}

function landing(b: SessionBuilder): void {
  const r = b.rng.float();
  if (r < 0.6) b.page('/');
  else if (r < 0.85) b.categoryPage();
  else {
    b.page('/');
    b.search();
  }
}

function checkoutPrelude(b: SessionBuilder): { cartId: string; value: number } {
  landing(b);
  const cartId = b.id('cart');
  const products = distinctProducts(b.rng, b.rng.int(1, 2));
  for (const p of products) {
    b.productView(p);
    if (b.rng.chance(0.25)) b.productView(p);
  }
  const toAdd = b.rng.chance(0.7) ? products.slice(0, 1) : products;
  let value = 0;
  for (const p of toAdd) value += b.productAdd(p, cartId);
  value = Math.round(value * 100) / 100;
  b.page('/cart');
  b.track('checkout_started', { cart_id: cartId, value, currency: 'USD' });
  b.page('/checkout');
  return { cartId, value };
}

function orderCompleted(b: SessionBuilder, cart: { cartId: string; value: number }): void {
  const shipping = cart.value >= 100 ? 0 : 4.95;
  b.track('order_completed', {
    order_id: b.id('ord'),
    cart_id: cart.cartId,
    revenue: Math.round((cart.value + shipping) * 100) / 100,
    shipping,
    currency: 'USD',
  });
  b.page('/order/confirmation');
}

function formError(b: SessionBuilder, form: 'checkout' | 'signup'): void {
  const field = form === 'checkout' ? b.rng.pick(CHECKOUT_FIELDS) : b.rng.pick(SIGNUP_FIELDS);
  b.track('form_error', { form, field, message: `${field} is invalid` });
}

const BUILDERS: Record<Intent, (b: SessionBuilder) => void> = {
  browse(b) {
    landing(b);
    browseFiller(b, b.rng.int(3, 25), new Set());
  },

  compare_then_add(b) {
    landing(b);
    const products = distinctProducts(b.rng, b.rng.int(3, 6));
    const used = new Set<string>();
    for (let i = 0; i < products.length; i++) {
      b.productView(products[i] as number);
      if (i > 0 && b.rng.chance(0.3)) b.productView(products[b.rng.int(0, i - 1)] as number);
      if (b.rng.chance(0.2)) browseFiller(b, b.count + 1, used, false);
    }
    b.productAdd(b.rng.pick(products), b.id('cart'));
    if (b.rng.chance(0.5)) b.page('/cart');
  },

  single_product_add(b) {
    landing(b);
    const products = distinctProducts(b.rng, b.rng.int(1, 2));
    const main = products[0] as number;
    // Repeat views of the same product: up to 3 product_viewed but only 1–2 distinct.
    b.productView(main);
    if (products.length === 2) b.productView(products[1] as number);
    if (b.rng.chance(0.5)) b.productView(main);
    b.productAdd(main, b.id('cart'));
    if (b.rng.chance(0.5)) b.page('/cart');
  },

  checkout_struggle(b) {
    const cart = checkoutPrelude(b);
    const errors = b.rng.int(3, 7);
    for (let i = 0; i < errors; i++) {
      if (i > 0 && b.rng.chance(0.35)) b.click('button#checkout-submit'); // ≥ 5 s apart: frustration, not rage
      formError(b, 'checkout');
    }
    if (b.rng.chance(0.5)) {
      b.track('form_submitted', { form: 'checkout', success: true });
      orderCompleted(b, cart);
    } else {
      if (b.rng.chance(0.5)) b.track('form_submitted', { form: 'checkout', success: false });
      if (b.rng.chance(0.5)) b.page('/help');
    }
  },

  checkout_minor_trouble(b) {
    const cart = checkoutPrelude(b);
    const errors = b.rng.int(1, 2);
    for (let i = 0; i < errors; i++) formError(b, 'checkout');
    b.track('form_submitted', { form: 'checkout', success: true });
    if (b.rng.chance(0.85)) orderCompleted(b, cart);
  },

  checkout_success(b) {
    const cart = checkoutPrelude(b);
    if (b.rng.chance(0.5)) b.page('/checkout/payment');
    b.track('form_submitted', { form: 'checkout', success: true });
    orderCompleted(b, cart);
  },

  onboarding_dropoff(b) {
    b.page('/signup');
    b.track('signup_started', { method: b.rng.pick(SIGNUP_METHODS) });
    if (b.rng.chance(0.3)) formError(b, 'signup');
    b.track('form_submitted', { form: 'signup', success: true });
    b.markIdentifyAnchor();
    const steps = b.rng.int(0, 2);
    for (let s = 1; s <= steps; s++) {
      if (b.rng.chance(0.5)) b.page(`/onboarding/step-${s}`);
      b.track('onboarding_step_completed', { step: s });
    }
    if (b.rng.chance(0.5)) b.page(`/onboarding/step-${steps + 1}`);
    if (b.rng.chance(0.3)) b.page('/');
  },

  onboarding_complete(b) {
    b.page('/signup');
    b.track('signup_started', { method: b.rng.pick(SIGNUP_METHODS) });
    b.track('form_submitted', { form: 'signup', success: true });
    b.markIdentifyAnchor();
    const steps = b.rng.int(3, 4);
    for (let s = 1; s <= steps; s++) {
      if (b.rng.chance(0.6)) b.page(`/onboarding/step-${s}`);
      b.track('onboarding_step_completed', { step: s });
    }
    b.track('onboarding_completed', { steps });
    b.page('/welcome');
  },

  rage_click(b) {
    landing(b);
    const used = new Set<string>();
    browseFiller(b, b.count + b.rng.int(0, 3), used);
    const target = b.rng.pick(RAGE_TARGETS);
    used.add(target);
    const clicks = b.rng.int(4, 8);
    b.click(target);
    for (let i = 1; i < clicks; i++) b.click(target, b.rng.int(TIMING.rageGapMin, TIMING.rageGapMax));
    browseFiller(b, b.count + b.rng.int(0, 5), used);
  },

  fast_human(b) {
    landing(b);
    browseFiller(b, b.rng.int(8, TIMING.fastMaxEvents), new Set());
  },
};

export function pickIntent(rng: Rng): Intent {
  return INTENTS[rng.weighted(INTENT_WEIGHT_LIST)] as Intent;
}

export function planSession(rng: Rng, intent: Intent, newId: (prefix: string) => string): PlannedSession {
  const b = new SessionBuilder(rng, newId, intent === 'fast_human' ? 'fast' : 'human');
  BUILDERS[intent](b);
  if (b.events.length > TIMING.maxEventsPerSession) b.events.length = TIMING.maxEventsPerSession;
  return { intent, events: b.events, identifyAnchor: b.identifyAnchor };
}
