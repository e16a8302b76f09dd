import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { TailWhere } from '../stores/raw-store.js';

/** What `tail --source` reads; here (not in tail-cli.ts) so tail.ts and its registration share it without a cycle. */
export const TAIL_SOURCES = ['raw', 'rejected', 'kafka', 'pubsub'] as const;

/**
 * The filters of `journeyctl tail`, parsed once from flags. The raw store applies them in its
 * query (values bound); a Kafka message is matched here, in code, against its parsed JSON. The
 * two agree on what matches: ids as sent, the event name as the pipeline names it, the app
 * version from context.app.version, and `--where` values as strings or the scalars they spell.
 */
export interface TailMatch {
  ids?: readonly string[];
  event?: string;
  appVersion?: string;
  where: readonly TailWhere[];
  /** Kafka only: the message timestamp in [from, to). The stores filter receivedAt themselves. */
  from?: number;
  to?: number;
}

const WHERE_ROOTS = new Set(['properties', 'context', 'traits']);

/** `key=value`: a bare key is a property (`plan=pro` is `properties.plan`); `context.app.version=2.3.1` reaches into context. */
export function parseWhere(text: string): TailWhere {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`--where "${text}" is not key=value`, { hint: 'e.g. --where plan=pro, --where properties.cart_id=c1, --where context.ip=10.0.0.1' });
  const segments = text.slice(0, at).trim().split('.');
  if (segments.some((segment) => segment === ''))
    throw new UsageError(`--where "${text}": "${text.slice(0, at)}" is not a property path`, { hint: 'use names separated by dots, e.g. properties.cart.id' });
  return { path: WHERE_ROOTS.has(segments[0]!) && segments.length > 1 ? segments : ['properties', ...segments], value: text.slice(at + 1) };
}

export function parseSample(text: string | undefined): number | null {
  if (text === undefined) return null;
  const rate = Number(text);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1) throw new UsageError(`--sample "${text}" is not a rate in (0, 1]`, { hint: 'e.g. --sample 0.1 keeps about one record in ten' });
  return rate;
}

export function parseGrep(text: string | undefined): RegExp | null {
  if (text === undefined) return null;
  try {
    return new RegExp(text);
  } catch (error) {
    throw new UsageError(`--grep "${text}" is not a regular expression: ${(error as Error).message}`);
  }
}

export function parseLimit(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--limit "${text}" is not a positive whole number`);
  return Number(text);
}

/**
 * Keeps about `rate` of all records, by a hash of the key (the message id): the same records
 * on every run and on every source, so two people tailing with --sample 0.1 see the same tenth.
 */
export function createSampler(rate: number | null): (key: string) => boolean {
  if (rate === null || rate >= 1) return () => true;
  const threshold = rate * 0x1_0000_0000;
  return (key) => createHash('sha1').update(key).digest().readUInt32BE(0) < threshold;
}

/** Matches a parsed input event (a Kafka message) the way the raw store matches a stored one. */
export function matchesInputEvent(input: Record<string, unknown>, match: TailMatch): boolean {
  if (match.ids !== undefined) {
    const sent = [input.userId, input.anonymousId, input.previousId];
    if (!sent.some((id) => typeof id === 'string' && match.ids!.includes(id))) return false;
  }
  if (match.event !== undefined && eventNameOf(input) !== match.event) return false;
  if (match.appVersion !== undefined && appVersionOf(input) !== match.appVersion) return false;
  for (const where of match.where) {
    if (!jsonValueMatches(valueAt(input, where.path), where.value)) return false;
  }
  return true;
}

/** The event name as the pipeline gives it (validate-event): `event`, else a page/screen `name`, else the type's default. */
export function eventNameOf(input: Record<string, unknown>): string | null {
  const type = typeof input.type === 'string' ? input.type : 'track';
  const named = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value : null);
  return (
    named(input.event) ??
    (type === 'track' ? null : named(input.name)) ??
    ({ page: 'page_viewed', screen: 'screen_viewed', identify: 'identify', alias: 'alias' } as Record<string, string>)[type] ??
    null
  );
}

export function appVersionOf(input: Record<string, unknown>): string | null {
  const version = (valueAt(input, ['context', 'app', 'version']) ?? null) as unknown;
  return typeof version === 'string' || typeof version === 'number' ? String(version) : null;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** A string equals the text; a number, boolean or null equals the scalar the text spells ("3.50" matches 3.5). */
export function jsonValueMatches(value: unknown, text: string): boolean {
  if (typeof value === 'string') return value === text;
  if (value !== null && typeof value !== 'number' && typeof value !== 'boolean') return false;
  try {
    const parsed: unknown = JSON.parse(text);
    return (parsed === null || typeof parsed === 'number' || typeof parsed === 'boolean') && parsed === value;
  } catch {
    return false;
  }
}
