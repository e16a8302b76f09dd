#!/usr/bin/env bash
# Installs the tools test/deploy.test.ts validates deploy/ with, into a cache that survives
# between runs (idempotent; a finished install leaves a stamp):
#   - kustomize, built from its Go module (sigs.k8s.io/kustomize/kustomize/v5). v5.8.x needs
#     go >= 1.27; v5.7.1 builds with the go this machine has. A cold build took 237 s here
#     (2 shared cores, module downloads included); afterwards it is cached.
#   - kubernetes-validate from PyPI in a venv (bundled schemas: validates offline).
# Prints the two executables' paths as JSON on stdout; fails loudly when something is missing.
#
#   JOURNEY_SERVICES_CACHE  cache root (default: $HOME/.cache/journeyctl-services)
set -euo pipefail

CACHE="${JOURNEY_SERVICES_CACHE:-$HOME/.cache/journeyctl-services}"
KUSTOMIZE_VERSION="v5.7.1"
KUBERNETES_VALIDATE_VERSION="1.37.0"

log() { echo "[deploy-tools] $*" >&2; }
die() { echo "[deploy-tools] ERROR: $*" >&2; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.deploy-tools.lock"
command -v flock >/dev/null 2>&1 && flock 9

kdir="$CACHE/kustomize-$KUSTOMIZE_VERSION"
if [ ! -x "$kdir/bin/kustomize" ]; then
  GO="${JOURNEY_GO:-go}"
  command -v "$GO" >/dev/null 2>&1 || die "go is needed to build kustomize (apt-get install golang-go, or .ci/services/install.sh's toolchain via JOURNEY_GO)"
  log "building kustomize $KUSTOMIZE_VERSION from its Go module (a few minutes the first time)"
  rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp/bin"
  (cd "$kdir.tmp" && GOBIN="$kdir.tmp/bin" GOFLAGS= CGO_ENABLED=0 "$GO" install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION") >&2 ||
    die "building kustomize $KUSTOMIZE_VERSION failed (see above)"
  rm -rf "$kdir" && mv "$kdir.tmp" "$kdir"
fi
# Captured, then matched: `kustomize version | grep -q` can fail under pipefail when grep exits
# first and kustomize gets SIGPIPE (the race issue 13 found in install.sh).
kversion="$("$kdir/bin/kustomize" version 2>&1)" || die "kustomize in $kdir does not run: $kversion"
case "$kversion" in *"$KUSTOMIZE_VERSION"*) ;; *) die "kustomize in $kdir reports $kversion, not $KUSTOMIZE_VERSION" ;; esac

vdir="$CACHE/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
# A venv cannot be moved (its scripts name its path): built in place, finished when stamped.
if [ ! -f "$vdir/.installed" ] || [ ! -x "$vdir/bin/kubernetes-validate" ]; then
  PY="${JOURNEY_PYTHON:-python3}"
  command -v "$PY" >/dev/null 2>&1 || die "python3 is needed for kubernetes-validate"
  log "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI into a venv"
  rm -rf "$vdir"
  if ! "$PY" -m venv "$vdir" >&2; then
    # Debian's python3 needs python3-venv for that
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >&2 || true
    fi
    rm -rf "$vdir"
    "$PY" -m venv "$vdir" >&2 || die "python3 -m venv failed (apt-get install python3-venv)"
  fi
  "$vdir/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2 ||
    die "pip could not install kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
  touch "$vdir/.installed"
fi

printf '{"kustomize":"%s","kubernetesValidate":"%s"}\n' "$kdir/bin/kustomize" "$vdir/bin/kubernetes-validate"
