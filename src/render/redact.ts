import { MAX_NESTING_DEPTH_LIMIT, nestingExceeds } from '../domain/json-depth.js';

/**
 * Masks the fields a config's `redact:` list names (`properties.email`, `context.ip`,
 * `traits.email`, `*` for any one key) in what tail and inspect show people. Paths are relative
 * to an event as the spec shapes it; records keep the same `properties`/`context`/`traits`
 * keys, so one list serves the input line, the stored event and the profile alike.
 */

export const REDACTED = '[redacted]';

export interface Redactor {
  /** False when nothing is to be masked (no paths, or --no-redact). */
  readonly active: boolean;
  /** A copy of `value` with every listed path masked; `value` itself is never changed. */
  object<T extends Record<string, unknown>>(value: T): T;
  /**
   * A verbatim line (a rejected line, a Kafka message) with the listed paths masked: parsed
   * and re-serialised when it is JSON; otherwise every `"key": value` whose key ends a listed
   * path is masked in the text, so a line refused as invalid JSON does not leak an email.
   */
  line(raw: string): string;
}

export function createRedactor(paths: readonly string[], enabled: boolean): Redactor {
  const parsed = paths.map((path) => path.split('.').filter((segment) => segment !== '')).filter((segments) => segments.length > 0);
  if (!enabled || parsed.length === 0) return { active: false, object: (value) => value, line: (raw) => raw };
  const leafKeys = [...new Set(parsed.map((segments) => segments[segments.length - 1]!).filter((key) => key !== '*'))];
  const leafPattern = leafKeys.length === 0 ? null : new RegExp(`("(?:${leafKeys.map(escapeRegExp).join('|')})"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"?|[^,}\\]\\s]+)`, 'g');
  const object = <T extends Record<string, unknown>>(value: T): T => {
    let result: unknown = value;
    for (const segments of parsed) result = maskPath(result, segments);
    return result as T;
  };
  return {
    active: true,
    object,
    line(raw) {
      let value: unknown;
      try {
        // A rejected line may be nested too deep to serialise again (too_deeply_nested): mask it as text.
        if (nestingExceeds(raw, MAX_NESTING_DEPTH_LIMIT)) throw new Error('too deeply nested');
        value = JSON.parse(raw);
      } catch {
        return leafPattern === null ? raw : raw.replace(leafPattern, `$1"${REDACTED}"`);
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return raw;
      const masked = object(value as Record<string, unknown>);
      return masked === value ? raw : JSON.stringify(masked);
    },
  };
}

/** Copy-on-write along the path: untouched branches are shared, the input is never mutated. */
function maskPath(value: unknown, segments: readonly string[]): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || segments.length === 0) return value;
  const [head, ...rest] = segments as [string, ...string[]];
  const record = value as Record<string, unknown>;
  const keys = head === '*' ? Object.keys(record) : Object.hasOwn(record, head) ? [head] : [];
  let copy: Record<string, unknown> | null = null;
  for (const key of keys) {
    const next = rest.length === 0 ? (record[key] === null || record[key] === undefined ? record[key] : REDACTED) : maskPath(record[key], rest);
    if (next !== record[key]) {
      copy ??= { ...record };
      copy[key] = next;
    }
  }
  return copy ?? value;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
