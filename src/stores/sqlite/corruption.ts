/** SQLite's own words for a damaged file: a corrupt page, or a file that is not a database at all. */
export function isSqliteCorrupt(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB') || /malformed|not a database/i.test((error as Error)?.message ?? '');
}

/** What to do about a damaged raw.sqlite: the raw store is the source of truth, so it is restored or recovered, then analytics rebuilt. */
export function corruptSqliteHint(path: string): string {
  return `the raw store file is damaged: restore ${path} from a backup, or recover it (\`sqlite3 ${path} .recover | sqlite3 recovered.sqlite\`, then put recovered.sqlite in its place); then run \`journeyctl repair --yes\``;
}
