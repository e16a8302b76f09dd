#!/usr/bin/env bash
# Installs the BigQuery emulator the integration tests run the BigQuery analytics store against,
# into a cache that survives between runs (idempotent; a finished install leaves a stamp):
#   - bqemulator (PyPI; DuckDB-based, BigQuery REST on a local port) in a venv, with numpy,
#   - DuckDB pinned to the version whose spatial extension PyPI has (duckdb-extension-spatial),
#     and that extension (plus avro) copied where DuckDB looks for installed extensions:
#     $HOME/.duckdb/extensions/v<duckdb>/<platform>/, under a HOME inside the cache. The emulator's
#     start-up runs `INSTALL spatial`, which otherwise downloads it (only registries are reachable).
# The harness starts `$bin start` with HOME=$home (test/harness/service-manager.ts).
# Prints {"version","bin","home","duckdb"} as JSON on stdout. A failure is one line on stderr
# naming the service, the reason and the log.
#
#   JOURNEY_SERVICES_CACHE  cache root (default: $HOME/.cache/journeyctl-services)
set -euo pipefail

CACHE="${JOURNEY_SERVICES_CACHE:-$HOME/.cache/journeyctl-services}"
BQEMULATOR_VERSION="1.4.0"
# bqemulator 1.4.0 accepts duckdb>=1.0 and pip picks 2.x, for which PyPI has no spatial extension
# (duckdb-extension-spatial stops at 1.5.5): pin DuckDB to the extension's version.
DUCKDB_VERSION="1.5.5"
NUMPY_VERSION="2.4.6"
RECIPE="1"

dir="$CACHE/bqemulator-$BQEMULATOR_VERSION"
LOG="$CACHE/bqemulator-install.log"
fail() { echo "[services/bqemulator] BigQuery emulator (bqemulator $BQEMULATOR_VERSION) install failed: $1 (log: $LOG)" >&2; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.bqemulator.lock"
command -v flock >/dev/null 2>&1 && flock 9

stamp="bqemulator $BQEMULATOR_VERSION duckdb $DUCKDB_VERSION recipe $RECIPE"
# A venv cannot be moved (its scripts name its path): built in place, finished when stamped.
if [ ! -f "$dir/.installed" ] || [ "$(cat "$dir/.installed")" != "$stamp" ] || [ ! -x "$dir/venv/bin/bqemulator" ]; then
  : >"$LOG"
  PY="${JOURNEY_PYTHON:-python3}"
  command -v "$PY" >/dev/null 2>&1 || fail "python3 (>= 3.11) is needed"
  echo "[services/bqemulator] installing bqemulator $BQEMULATOR_VERSION and DuckDB $DUCKDB_VERSION's spatial extension from PyPI into $dir" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  if ! "$PY" -m venv "$dir/venv" >>"$LOG" 2>&1; then
    # Debian's python3 needs python3-venv for that
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >>"$LOG" 2>&1 || true
    fi
    rm -rf "$dir/venv"
    "$PY" -m venv "$dir/venv" >>"$LOG" 2>&1 || fail "python3 -m venv failed (apt-get install python3-venv)"
  fi
  "$dir/venv/bin/pip" install -q --disable-pip-version-check \
    "bqemulator==$BQEMULATOR_VERSION" "numpy==$NUMPY_VERSION" "duckdb==$DUCKDB_VERSION" \
    "duckdb-extension-spatial==$DUCKDB_VERSION" "duckdb-extension-avro==$DUCKDB_VERSION" >>"$LOG" 2>&1 ||
    fail "pip could not install bqemulator $BQEMULATOR_VERSION with duckdb $DUCKDB_VERSION and its spatial extension"
  # Where DuckDB looks: its own version and platform, asked of it.
  where="$("$dir/venv/bin/python" -c 'import duckdb; print(f"v{duckdb.__version__}/" + duckdb.sql("PRAGMA platform").fetchone()[0])' 2>>"$LOG")" ||
    fail "the installed duckdb does not run"
  ext="$dir/home/.duckdb/extensions/$where"
  mkdir -p "$ext"
  site="$("$dir/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  for name in spatial avro; do
    src="$(ls "$site/duckdb_extension_$name/extensions/v$DUCKDB_VERSION/$name.duckdb_extension" 2>/dev/null || true)"
    [ -n "$src" ] || fail "duckdb-extension-$name $DUCKDB_VERSION has no $name.duckdb_extension"
    cp "$src" "$ext/"
  done
  # Proves the copy is where DuckDB looks: INSTALL finds it and does not download; LOAD works offline.
  HOME="$dir/home" "$dir/venv/bin/python" -c 'import duckdb; c = duckdb.connect(); c.execute("INSTALL spatial"); c.execute("LOAD spatial")' >>"$LOG" 2>&1 ||
    fail "DuckDB does not load the spatial extension copied into $ext"
  reported="$("$dir/venv/bin/bqemulator" --version 2>>"$LOG")" || fail "$dir/venv/bin/bqemulator --version failed"
  case "$reported" in *"$BQEMULATOR_VERSION"*) ;; *) fail "bqemulator reports $reported, not $BQEMULATOR_VERSION" ;; esac
  echo "$stamp" >"$dir/.installed"
fi

printf '{"version":"%s","bin":"%s","home":"%s","duckdb":"%s"}\n' "$BQEMULATOR_VERSION" "$dir/venv/bin/bqemulator" "$dir/home" "$DUCKDB_VERSION"
