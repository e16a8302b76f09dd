/** Static vocabulary for the synthetic shop: user agents, products, pages, selectors. */

export const APP_VERSION = '2.3.0';
export const BUGGY_VERSION = '2.4.0-buggy';
export const SITE = 'https://shop.example.com';

export const DESKTOP_UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
] as const;

export const MOBILE_UAS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
] as const;

export const BOT_UAS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'python-requests/2.31.0',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Scrapy/2.11.2 (+https://scrapy.org)',
  'curl/8.5.0',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
] as const;

export const PRODUCT_MIN = 1001;
export const PRODUCT_MAX = 1240;

export function productPrice(productId: number): number {
  return ((productId * 37) % 190) + 9.99;
}

export const CATEGORIES = ['shoes', 'jackets', 'bags', 'accessories', 'sale', 'new-in'] as const;

export const SEARCH_QUERIES = ['running shoes', 'rain jacket', 'leather bag', 'wool socks', 'gift card', 'winter boots', 'backpack', 'sunglasses', 'trail shoes size 44', 'waterproof'] as const;

/** Clickable things while browsing (never repeated within a session except in rage clicks). */
export const BROWSE_TARGETS = [
  'nav > a.logo',
  'nav a[href="/category/shoes"]',
  'nav a[href="/category/sale"]',
  'button.filter-apply',
  'button.sort-toggle',
  'a.product-card__link',
  'button.load-more',
  'button.size-guide',
  'footer a.newsletter',
  'button#cookie-accept',
  'div.gallery button.next',
  'a.breadcrumb__item',
] as const;

/** Things people rage-click: broken or slow controls. */
export const RAGE_TARGETS = ['button#apply-coupon', 'button.add-to-cart[disabled]', 'button#checkout-submit', 'div.gallery button.next', 'a.pagination__next'] as const;

export const CHECKOUT_FIELDS = ['card_number', 'expiry', 'cvc', 'postal_code', 'email', 'phone'] as const;
export const SIGNUP_FIELDS = ['email', 'password', 'company'] as const;
export const PLANS = ['free', 'pro', 'team'] as const;
export const SIGNUP_METHODS = ['email', 'google', 'github'] as const;
export const EMAIL_DOMAINS = ['example.com', 'mail.example.org', 'corp.example.net'] as const;

export const PAGE_TITLES: Record<string, string> = {
  '/': 'Home',
  '/cart': 'Your cart',
  '/checkout': 'Checkout',
  '/checkout/payment': 'Payment',
  '/order/confirmation': 'Thank you',
  '/signup': 'Create account',
  '/welcome': 'Welcome',
  '/account': 'Your account',
  '/help': 'Help',
};

export function pageTitle(path: string): string {
  const t = PAGE_TITLES[path];
  if (t !== undefined) return t;
  if (path.startsWith('/products/')) return `Product ${path.slice(10)}`;
  if (path.startsWith('/category/')) return `Category: ${path.slice(10)}`;
  if (path.startsWith('/search')) return 'Search results';
  if (path.startsWith('/onboarding/')) return `Onboarding ${path.slice(12)}`;
  return 'Shop';
}
