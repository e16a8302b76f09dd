/**
 * The keys a config document may have, as a tree: `null` is a leaf (its value is read, not
 * walked), `'*'` stands for any key name (tracking-plan event names), `'[]'` for every item of
 * a list. Sections with their own strict parser (labels, checks) are leaves here.
 */
export interface KeySchema {
  readonly [key: string]: KeySchema | null;
}

export interface UnknownKey {
  /** Dotted path of the key in the document, list items as [i]: `pipeline.session_inactivty`. */
  path: string;
  /** The known key it most likely meant, as a full path, if any is close. */
  suggestion?: string;
}

/** Every key of `document` that `schema` does not know, at any depth, with a "did you mean". */
export function findUnknownKeys(document: unknown, schema: KeySchema): UnknownKey[] {
  const found: UnknownKey[] = [];
  const everyPath = allPaths(schema, '');
  const walk = (value: unknown, node: KeySchema, path: string) => {
    if (Array.isArray(value)) {
      const item = node['[]'];
      if (item) value.forEach((entry, index) => walk(entry, item, `${path}[${index}]`));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      const at = path === '' ? key : `${path}.${key}`;
      const known = Object.hasOwn(node, key) ? node[key] : node['*'];
      if (known === undefined) {
        found.push({ path: at, ...suggest(key, node, path, everyPath) });
        continue;
      }
      if (known !== null) walk(child, known, at);
    }
  };
  walk(document, schema, '');
  return found;
}

/** A sibling within a few typos, else the same name elsewhere in the tree (`session_inactivity` at the top meant `pipeline.…`). */
function suggest(key: string, node: KeySchema, parent: string, everyPath: string[]): { suggestion?: string } {
  const siblings = Object.keys(node).filter((name) => name !== '*' && name !== '[]');
  const limit = Math.max(1, Math.min(3, Math.floor(key.length / 3)));
  let best: { name: string; distance: number } | null = null;
  for (const name of siblings) {
    const distance = editDistance(key.toLowerCase(), name);
    if (distance <= limit && (best === null || distance < best.distance)) best = { name, distance };
  }
  if (best) return { suggestion: parent === '' ? best.name : `${parent}.${best.name}` };
  const elsewhere = everyPath.find((path) => path.endsWith(`.${key}`) || path === key);
  return elsewhere ? { suggestion: elsewhere } : {};
}

function allPaths(node: KeySchema, prefix: string): string[] {
  return Object.entries(node).flatMap(([key, child]) => {
    if (key === '*' || key === '[]') return child ? allPaths(child, key === '*' ? `${prefix}.*` : `${prefix}[]`) : [];
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return [path, ...(child ? allPaths(child, path) : [])];
  });
}

/** Levenshtein distance with adjacent transpositions counted as one edit (`engin`, `sesison`). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
