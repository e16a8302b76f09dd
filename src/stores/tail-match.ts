import type { TailWhere } from './ports/tail-reader.js';

/**
 * `--where path=value` over parsed JSON, for engines whose query language cannot look into the
 * JSON text they keep: the JSON value at the path equals the value as a string, or the
 * number/boolean/null it spells. Objects, arrays and missing keys never match.
 */
export function whereMatches(root: unknown, where: TailWhere, skipFirst: boolean): boolean {
  const path = skipFirst ? where.path.slice(1) : where.path;
  let value: unknown = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.prototype.hasOwnProperty.call(value, key)) return false;
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value === 'string') return value === where.value;
  if (value !== null && typeof value === 'object') return false;
  if (value === undefined) return false;
  let spelled: unknown;
  try {
    spelled = JSON.parse(where.value);
  } catch {
    return false;
  }
  return (spelled === null || typeof spelled === 'number' || typeof spelled === 'boolean') && spelled === value;
}

export function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** An accepted event matches every `where` entry: properties and traits by their stored JSON, context within the original line. */
export function eventWheresMatch(doc: { propertiesJson: string; traitsJson: string; raw: string }, wheres: readonly TailWhere[]): boolean {
  return wheres.every((where) => {
    const root = where.path[0];
    if (root === 'properties') return whereMatches(parseJsonObject(doc.propertiesJson), where, true);
    if (root === 'traits') return whereMatches(parseJsonObject(doc.traitsJson), where, true);
    if (root === 'context') return whereMatches(parseJsonObject(doc.raw), where, false);
    return false;
  });
}

/** A rejected line matches `ids` and `where` only when it is a JSON object (ids: its userId or anonymousId). */
export function rejectedLineMatches(raw: string, ids: readonly string[] | undefined, wheres: readonly TailWhere[]): boolean {
  const line = parseJsonObject(raw);
  if (line === null) return false;
  if (ids !== undefined && !ids.some((id) => id === line.userId || id === line.anonymousId)) return false;
  return wheres.every((where) => ['properties', 'context', 'traits'].includes(where.path[0] ?? '') && whereMatches(line, where, false));
}

/** The JSON texts a `--where` value matches: the string itself, and the number/boolean/null it spells (as written and normalised). */
export function jsonCandidates(value: string): string[] {
  const candidates = new Set([JSON.stringify(value)]);
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed === null || typeof parsed === 'number' || typeof parsed === 'boolean') {
      candidates.add(value.trim());
      candidates.add(JSON.stringify(parsed));
    }
  } catch {
    // not a scalar literal: the string form only
  }
  return [...candidates];
}
