// .ci/services/bqemulator.sh with a stand-in python3 on the PATH: it puts DuckDB's spatial extension
// where DuckDB looks under its HOME, stamps a finished install (the next run installs nothing), and
// a failed install is one line naming the service, why, and the log.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '.ci', 'services', 'bqemulator.sh');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function executable(path: string, body: string): void {
  writeFileSync(path, `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(path, 0o755);
}

/**
 * A machine whose `python3 -m venv DIR` makes a venv with a stand-in pip (it "installs" the
 * emulator and the extension wheels' files, or fails) and python (DuckDB's version and platform,
 * site-packages, and a LOAD spatial that succeeds only when the extension is where DuckDB looks).
 */
function machine(options: { pipFails?: boolean }) {
  const root = mkdtempSync(join(tmpdir(), 'journeyctl-bqemulator-'));
  dirs.push(root);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const pipLog = join(root, 'pip-calls');
  const pip = options.pipFails
    ? 'echo "ERROR: No matching distribution found for bqemulator==1.4.0" >&2; exit 1'
    : `echo "$*" >> ${pipLog}
venv="$(cd "$(dirname "$0")/.." && pwd)"
site="$venv/lib/site-packages"
for name in spatial avro; do mkdir -p "$site/duckdb_extension_$name/extensions/v1.5.5"; echo "$name binary" > "$site/duckdb_extension_$name/extensions/v1.5.5/$name.duckdb_extension"; done
printf '#!/usr/bin/env bash\\necho "bqemulator, version 1.4.0"\\n' > "$venv/bin/bqemulator"; chmod +x "$venv/bin/bqemulator"`;
  const python = `venv="$(cd "$(dirname "$0")/.." && pwd)"
case "$2" in
  *"PRAGMA platform"*) echo v1.5.5/linux_amd64 ;;
  *sysconfig*) echo "$venv/lib/site-packages" ;;
  *"LOAD spatial"*) test -f "$HOME/.duckdb/extensions/v1.5.5/linux_amd64/spatial.duckdb_extension" ;;
  *) echo "unexpected python $*" >&2; exit 2 ;;
esac`;
  executable(
    join(bin, 'python3'),
    `[ "$1 $2" = "-m venv" ] || { echo "unexpected python3 $*" >&2; exit 2; }
mkdir -p "$3/bin"
cat > "$3/bin/pip" <<'PIP'
#!/usr/bin/env bash
${pip}
PIP
cat > "$3/bin/python" <<'PY'
#!/usr/bin/env bash
${python}
PY
chmod +x "$3/bin/pip" "$3/bin/python"`,
  );
  const cache = join(root, 'cache');
  const run = () => spawnSync('bash', [SCRIPT], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, HOME: root, JOURNEY_SERVICES_CACHE: cache } });
  const pipCalls = () => (existsSync(pipLog) ? readFileSync(pipLog, 'utf8').trim().split('\n') : []);
  return { cache, run, pipCalls };
}

describe('.ci/services/bqemulator.sh', () => {
  it('installs bqemulator with DuckDB pinned to its spatial extension, copied under the HOME it runs with; the next run is cached', () => {
    const m = machine({});
    const first = m.run();
    expect(first.status).toBe(0);
    const installed = JSON.parse(first.stdout) as { version: string; bin: string; home: string; duckdb: string };
    expect(installed).toEqual({ version: '1.4.0', bin: join(m.cache, 'bqemulator-1.4.0', 'venv', 'bin', 'bqemulator'), home: join(m.cache, 'bqemulator-1.4.0', 'home'), duckdb: '1.5.5' });
    for (const name of ['spatial', 'avro']) {
      expect(readFileSync(join(installed.home, '.duckdb', 'extensions', 'v1.5.5', 'linux_amd64', `${name}.duckdb_extension`), 'utf8')).toBe(`${name} binary\n`);
    }
    expect(m.pipCalls()).toHaveLength(1);
    expect(m.pipCalls()[0]).toContain('bqemulator==1.4.0');
    expect(m.pipCalls()[0]).toContain('duckdb==1.5.5');
    expect(m.pipCalls()[0]).toContain('duckdb-extension-spatial==1.5.5');
    const again = m.run();
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual(installed);
    expect(m.pipCalls()).toHaveLength(1); // stamped: nothing installed twice
  });

  it('fails in one line naming the service, the reason and the log', () => {
    const m = machine({ pipFails: true });
    const result = m.run();
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe(
      `[services/bqemulator] BigQuery emulator (bqemulator 1.4.0) install failed: pip could not install bqemulator 1.4.0 with duckdb 1.5.5 and its spatial extension (log: ${join(m.cache, 'bqemulator-install.log')})`,
    );
    expect(readFileSync(join(m.cache, 'bqemulator-install.log'), 'utf8')).toContain('No matching distribution found');
    expect(existsSync(join(m.cache, 'bqemulator-1.4.0', '.installed'))).toBe(false);
  });
});
