import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// Driver and client libraries cost 0.3–0.4 s each to load; a command that does not use an engine
// or a stream must not load its library (start-up of every on-call command, issue 13).
const HEAVY = ['mongodb', '@google-cloud/bigquery', '@google-cloud/pubsub', 'kafkajs'];

/** What a resolve hook (`hookBody`, inside `resolve(specifier, context, next)`) prints while a fresh Node process imports `modules` (built files under dist/), once each. */
function printedWhileImporting(modules: string[], hookBody: string): string[] {
  const hooks = `export async function resolve(specifier, context, next) {${hookBody}}`;
  const script = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
for (const file of ${JSON.stringify(modules.map((m) => resolve('dist', m)))}) await import(file);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return [...new Set(out.split('\n').filter(Boolean))];
}

/** Inside a resolve hook: whether `specifier` names a package (not a relative path, file URL, absolute path or Node built-in). */
const IS_PACKAGE = `!specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.startsWith('file:') && !specifier.startsWith('/')`;

/** The bare packages a fresh Node process resolves while importing `modules`. */
function packagesLoadedBy(modules: string[]): string[] {
  return printedWhileImporting(
    modules,
    `if (${IS_PACKAGE}) process.stdout.write(specifier + '\\n');
    return next(specifier, context);`,
  );
}

/** The built files (paths under dist/) a fresh Node process loads while importing `modules`. */
function distFilesLoadedBy(modules: string[]): string[] {
  return printedWhileImporting(
    modules,
    `const resolved = await next(specifier, context);
    const at = resolved.url.lastIndexOf('/dist/');
    if (at >= 0) process.stdout.write(resolved.url.slice(at + 6) + '\\n');
    return resolved;`,
  );
}

/** The bare packages a fresh Node process resolves while `journeyctl <args>` runs to its end (its own output discarded), and its exit code. */
function packagesLoadedByCommand(args: string[]): { packages: string[]; status: number | null } {
  const hooks = `export async function resolve(specifier, context, next) {
    if (${IS_PACKAGE}) process.stderr.write('PACKAGE ' + specifier + '\\n');
    return next(specifier, context);
  }`;
  const script = `import { register } from 'node:module';
import { Writable } from 'node:stream';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
const { main } = await import(${JSON.stringify(resolve('dist', 'cli.js'))});
const discard = new Writable({ write(chunk, encoding, done) { done(); } });
process.exitCode = await main(['node', 'journeyctl', ...${JSON.stringify(args)}], { stdout: discard, stderr: discard, stdin: process.stdin, env: process.env });`;
  const { stderr, status } = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const packages = stderr
    .split('\n')
    .filter((line) => line.startsWith('PACKAGE '))
    .map((line) => line.slice('PACKAGE '.length));
  return { packages: [...new Set(packages)], status };
}

describe('start-up imports', () => {
  it('the commands of the embedded default load no MongoDB, BigQuery, Pub/Sub or Kafka library', () => {
    const loaded = packagesLoadedBy(['commands/run.js', 'commands/export.js', 'commands/tail.js', 'commands/inspect.js', 'stores/open-stores.js']);
    expect(loaded).toContain('better-sqlite3'); // the hook sees the embedded store's driver: it does record packages
    expect(loaded.filter((name) => HEAVY.some((heavy) => name === heavy || name.startsWith(`${heavy}/`)))).toEqual([]);
  });

  it("run from a file loads no Kafka or Pub/Sub library: a stream run's summary loads with its stream", () => {
    // kafka-run and pubsub-run were imported for every run's summary: ~0.4 CPU-s of a re-ingest's ~5 s.
    const dataDir = mkdtempSync(join(tmpdir(), 'journeyctl-startup-'));
    try {
      const { packages: loaded, status } = packagesLoadedByCommand(['run', '--input', resolve('fixtures', 'demo.ndjson'), '--data-dir', dataDir, '--no-progress', '--output', 'json']);
      expect(loaded).toContain('better-sqlite3'); // the hook saw the run open the raw store
      expect(loaded).toContain('chdb/connection'); // ...and the analytics store
      // It ran to its end, summary included. (The hook's lines are written from Node's loader
      // thread: one resolved just before the process exits, as chdb at close, may not reach stderr.)
      expect(status).toBe(0);
      expect(loaded.filter((name) => HEAVY.some((heavy) => name === heavy || name.startsWith(`${heavy}/`)))).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('tail and export load no ink, react or yaml: the live view loads when drawn, yaml when a config file is read', () => {
    // ink and react: ~0.4 CPU-s of a tail's 0.8 before its first row into a pipe; yaml ~0.04 (ADR 0016, first rows beside a run).
    const loaded = packagesLoadedBy(['commands/tail.js', 'commands/export.js']);
    expect(loaded).toContain('commander'); // the hook sees this graph's packages
    expect(loaded.filter((name) => ['ink', 'react', 'yaml'].some((lazy) => name === lazy || name.startsWith(`${lazy}/`)))).toEqual([]);
  });

  it('tail and export load no derivation: the client_sessions check loads it when it runs, not with the config', () => {
    // sessionize, derive-users and the corrections they apply: ~4 CPU-ms of each reader's start-up (ADR 0016).
    const loaded = distFilesLoadedBy(['cli.js', 'commands/context.js', 'commands/tail.js', 'commands/export.js']);
    expect(loaded).toContain('checks/kinds/client-sessions.js'); // the config's check kinds are loaded, and seen
    expect(loaded.filter((file) => ['pipeline/derive-users.js', 'pipeline/sessionize.js', 'corrections/apply-corrections.js'].includes(file))).toEqual([]);
  });
});
