import { parseDurationMs } from '../domain/time.js';

/** Reads typed values out of an untyped document, collecting every problem instead of stopping at the first. */
export class SectionReader {
  constructor(private readonly errors: string[]) {}

  fail(message: string): void {
    this.errors.push(message);
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.fail(`${path || 'config'} must be a mapping`);
      return {};
    }
    return value as Record<string, unknown>;
  }

  duration(value: unknown, path: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value === 'number' && value >= 0) return value * 1000;
    const parsed = typeof value === 'string' ? parseDurationMs(value) : null;
    if (parsed === null) {
      this.fail(`${path}: "${String(value)}" is not a duration (e.g. 30m, 24h, 3d)`);
      return fallback;
    }
    return parsed;
  }

  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.fail(`${path} must be true or false`);
      return fallback;
    }
    return value;
  }

  string(value: unknown, path: string, fallback: string): string {
    return this.optionalString(value, path) ?? fallback;
  }

  optionalString(value: unknown, path: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.length === 0) {
      this.fail(`${path} must be a non-empty string`);
      return undefined;
    }
    return value;
  }

  stringList(value: unknown, path: string): string[] {
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
      this.fail(`${path} must be a list of strings`);
      return [];
    }
    return value as string[];
  }

  positiveInteger(value: unknown, path: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      this.fail(`${path} must be a positive integer`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T {
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) {
      this.fail(`${path} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
      return fallback;
    }
    return value as T;
  }
}
