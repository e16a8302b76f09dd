/** The index of a registry's explicit list of kinds: each key once (a second is a programming error). */
export function indexKinds<T>(kinds: readonly T[], keyOf: (kind: T) => string, what: string): Map<string, T> {
  const byKey = new Map<string, T>();
  for (const kind of kinds) {
    const key = keyOf(kind);
    if (byKey.has(key)) throw new Error(`${what} ${key} is registered twice`);
    byKey.set(key, kind);
  }
  return byKey;
}
