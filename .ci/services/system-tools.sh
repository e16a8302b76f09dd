#!/usr/bin/env bash
# Installs Debian packages that tests drive as real programs, when their command is missing:
#   system-tools.sh COMMAND[=PACKAGE] ...   e.g. chromium docker-compose
# Used by the tests that need them (so a first `npm test` on a fresh machine has them) and by
# .ci/run. Fails with one line naming what is missing and why when it cannot install.
set -euo pipefail

missing=()
for spec in "$@"; do
  command="${spec%%=*}"
  package="${spec#*=}"
  command -v "$command" >/dev/null 2>&1 || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[system-tools] missing ${missing[*]}: install with your package manager (needs root + apt-get here)" >&2
  exit 1
fi
exec 9>/tmp/journeyctl-system-tools.lock
command -v flock >/dev/null 2>&1 && flock 9
echo "[system-tools] installing ${missing[*]} with apt" >&2
log="${TMPDIR:-/tmp}/journeyctl-system-tools.log"
if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  echo "[system-tools] apt-get could not install ${missing[*]} (log: $log)" >&2
  exit 1
fi
