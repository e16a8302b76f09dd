// .ci/services/install.sh with stand-in java, mvn and go on the PATH: its checks must not depend
// on pipe timing, and a failed install must say which service failed, why, and where the log is.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '.ci', 'services', 'install.sh');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function executable(path: string, body: string): void {
  writeFileSync(path, `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(path, 0o755);
}

/** A machine whose go "builds" a ferretdb that prints `ferretdbOutput`. */
function machine(options: { ferretdbOutput?: string; downloadFails?: boolean }) {
  const root = mkdtempSync(join(tmpdir(), 'journeyctl-install-'));
  dirs.push(root);
  const bin = join(root, 'bin');
  const moduleDir = join(root, 'module');
  mkdirSync(bin);
  mkdirSync(join(moduleDir, 'build', 'version'), { recursive: true });
  writeFileSync(join(moduleDir, 'go.mod'), 'module github.com/FerretDB/FerretDB\n');
  writeFileSync(join(root, 'ferretdb-output'), options.ferretdbOutput ?? 'version: v1.24.2\n');
  executable(join(bin, 'java'), `echo 'openjdk version "17.0.15" 2025-04-15' >&2`);
  executable(join(bin, 'mvn'), `echo 'Apache Maven 3.9.9'`);
  executable(
    join(bin, 'go'),
    `case "$1 $2" in
  "env GOVERSION") echo go1.24.3 ;;
  "env GOARCH") echo amd64 ;;
  "version "*) echo "go version go1.24.3 linux/amd64" ;;
  "mod download") ${options.downloadFails ? 'echo "proxy.golang.org: 503" >&2; exit 1' : `printf '{\\n\\t"Path": "m",\\n\\t"Dir": "%s",\\n\\t"Version": "v1.24.2"\\n}\\n' '${moduleDir}'`} ;;
  "build -trimpath") out="$4"; printf '#!/usr/bin/env bash\\ncat %q\\n' '${join(root, 'ferretdb-output')}' > "$out"; chmod +x "$out" ;;
  *) echo "unexpected go $*" >&2; exit 2 ;;
esac`,
  );
  const cache = join(root, 'cache');
  const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: root, JOURNEY_SERVICES_CACHE: cache, JOURNEY_KAFKA_VERSIONS: '', JOURNEY_PUBSUB_EMULATOR: '', JOURNEY_GO: join(bin, 'go') };
  const run = () => spawnSync('bash', [SCRIPT], { encoding: 'utf8', env });
  return { cache, env, run };
}

describe('.ci/services/install.sh', () => {
  it('accepts a FerretDB whose --version output outlasts the match (no SIGPIPE under pipefail)', () => {
    // `ferretdb --version | grep -q …` failed here every time: grep stops at the first line and
    // the writer of the remaining megabyte dies of SIGPIPE (141), which pipefail reports.
    const m = machine({ ferretdbOutput: `version: v1.24.2\n${'commit: 0123456789abcdef\n'.repeat(40_000)}` });
    const result = m.run();
    expect(result.stderr).not.toContain('install failed');
    expect(result.status).toBe(0);
    expect(JSON.parse(readFileSync(join(m.cache, 'manifest.json'), 'utf8')).ferretdb.version).toBe('v1.24.2');
    expect(existsSync(join(m.cache, 'install.failed'))).toBe(false);
  });

  it('a failed download names the service, the reason and the log, in one line', () => {
    const m = machine({ downloadFails: true });
    const result = m.run();
    expect(result.status).toBe(1);
    const line = `[services/install] FerretDB v1.24.2 install failed: could not download github.com/FerretDB/FerretDB@v1.24.2 from the Go module proxy (log: ${join(m.cache, 'install.log')})`;
    expect(result.stderr.trim().split('\n').at(-1)).toBe(line);
    expect(readFileSync(join(m.cache, 'install.failed'), 'utf8').trim()).toBe(line);
    expect(readFileSync(join(m.cache, 'install.log'), 'utf8')).toContain('proxy.golang.org: 503');
  });

  it('a binary that reports another version is refused with what it said', () => {
    const m = machine({ ferretdbOutput: 'version: v1.23.0\n' });
    const result = m.run();
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(
      /^\[services\/install\] FerretDB v1\.24\.2 install failed: the built binary does not report version v1\.24\.2 \(it said: version: v1\.23\.0\) \(log: .*install\.log\)$/,
    );
  });

  it('a pstest emulator that the go on the machine cannot build names the Pub/Sub emulator', () => {
    // No Google Cloud CLI emulator wanted: pstest v2.9.0 needs go 1.26, this machine's go is 1.24.
    const m = machine({});
    const result = spawnSync('bash', [SCRIPT], { encoding: 'utf8', env: { ...m.env, JOURNEY_PUBSUB_EMULATOR: 'pstest' } });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(
      /^\[services\/install\] Pub\/Sub emulator \(pstest v2\.9\.0\) install failed: needs go >= 1\.26, found go version go1\.24\.3 linux\/amd64 .*\(log: .*install\.log\)$/,
    );
  });

  it('the test harness reports that line when the install fails', async () => {
    const m = machine({ downloadFails: true });
    const saved = { ...process.env };
    Object.assign(process.env, m.env);
    try {
      vi.resetModules(); // CACHE_DIR is read when the module loads
      const { ensureInstalled } = await import('./harness/service-manager.js');
      expect(() => ensureInstalled()).toThrow(
        `the test services are not installed: [services/install] FerretDB v1.24.2 install failed: could not download github.com/FerretDB/FerretDB@v1.24.2 from the Go module proxy (log: ${join(m.cache, 'install.log')})`,
      );
    } finally {
      for (const key of Object.keys(m.env)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
