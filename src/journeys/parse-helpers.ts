/** Small readers shared by the journeys parsers (label rules, funnels, flag settings). Each problem goes to `errors`. */
import { parseDurationMs } from '../domain/time.js';

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function positiveInteger(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) > 0;
}

export function parseWithin(value: unknown, where: string, errors: string[]): number {
  const ms = typeof value === 'string' ? parseDurationMs(value) : null;
  if (ms === null || ms <= 0) errors.push(`${where}: "${String(value)}" is not a duration (e.g. 3s, 10m)`);
  return ms ?? 0;
}

/** A flag's settings mapping; a key not in `keys` is an error naming the known ones. */
export function readSection(flags: Record<string, unknown>, name: string, keys: readonly string[], errors: string[]): Record<string, unknown> {
  const section = flags[name];
  if (section === undefined) return {};
  if (!isObject(section)) {
    errors.push(`flags.${name} must be a mapping`);
    return {};
  }
  for (const key of Object.keys(section)) if (!keys.includes(key)) errors.push(`flags.${name}: unknown setting "${key}" (known: ${keys.join(', ')})`);
  return section;
}

export function share(value: unknown, path: string, errors: string[]): number {
  if (typeof value !== 'number' || !(value > 0) || value > 1) {
    errors.push(`${path} must be a share between 0 and 1 (got ${JSON.stringify(value)})`);
    return 1;
  }
  return value;
}

export function positiveNumber(value: unknown, path: string, errors: string[]): number {
  if (typeof value !== 'number' || !(value > 0)) {
    errors.push(`${path} must be a positive number (got ${JSON.stringify(value)})`);
    return 1;
  }
  return value;
}

export function integerAtLeastOne(value: unknown, path: string, errors: string[]): number {
  if (!positiveInteger(value)) {
    errors.push(`${path} must be a positive integer (got ${JSON.stringify(value)})`);
    return 1;
  }
  return value as number;
}
