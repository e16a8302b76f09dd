#!/usr/bin/env bash
# Installs the real services the test suite runs against, into a cache that
# survives between runs:
#   - Apache Kafka (KRaft) from Maven Central jars, one directory per version
#   - FerretDB (MongoDB wire protocol over SQLite), built from its Go module
# (ClickHouse is served by chdb through test/harness/chdb-http-server.mjs; chdb
# itself comes from `npm ci`.)
#
# Idempotent: a finished install leaves a stamp file and is skipped next time.
# Fails loudly (non-zero exit, message on stderr) when something is missing;
# it never skips silently. Runs as root on a fresh Debian machine (then it
# apt-installs a missing JRE or Maven) or as a normal user with the tools present.
#
#   JOURNEY_SERVICES_CACHE  cache root (default: $HOME/.cache/journeyctl-services)
#   JOURNEY_KAFKA_VERSIONS  space-separated Kafka versions (default below)
set -euo pipefail

CACHE="${JOURNEY_SERVICES_CACHE:-$HOME/.cache/journeyctl-services}"
# Latest 3.9.x and latest 4.x on Maven Central (checked 2026-11).
KAFKA_VERSIONS="${JOURNEY_KAFKA_VERSIONS:-3.9.2 4.4.0}"
FERRETDB_VERSION="v1.24.2"
# FerretDB v1.24.2's go.mod says `go 1.24`; an older go (>= 1.21) fetches this
# toolchain itself from the Go module proxy (GOTOOLCHAIN=auto).
GO_MIN_MINOR=24
GO_FALLBACK_TOOLCHAIN="go1.24.3"
# Logging back-ends Kafka's distribution ships in libs/ but its POM does not
# declare. 3.x logs through slf4j 1.7 -> reload4j; 4.x through slf4j 1.7 ->
# log4j2 (the log4j2 version matches what kafka-server 4.4.0 depends on).
RELOAD4J_VERSION="1.2.25"
SLF4J_VERSION="1.7.36"
LOG4J2_VERSION="2.25.5"
# Bump when the recipe below changes, so cached installs are redone.
RECIPE="2"

log() { echo "[services/install] $*" >&2; }
die() { echo "[services/install] ERROR: $*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
APT_UPDATED=0
apt_install() {
  is_root && command -v apt-get >/dev/null 2>&1 || return 1
  if [ "$APT_UPDATED" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

mkdir -p "$CACHE"
exec 9>"$CACHE/.install.lock"
command -v flock >/dev/null 2>&1 && flock 9

# ---------------------------------------------------------------- tools ----
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
if ! command -v java >/dev/null 2>&1 || [ "$(java_major || true)" -lt 17 ] 2>/dev/null ||
   [ -z "$(java_major || true)" ]; then
  log "Java >= 17 missing (Kafka 4.x needs 17): installing openjdk-17-jre-headless"
  apt_install openjdk-17-jre-headless ||
    die "Java 17+ is required and could not be installed (need root + apt-get)."
fi
if ! command -v mvn >/dev/null 2>&1; then
  log "Maven missing: installing maven"
  apt_install maven || die "Maven is required and could not be installed (need root + apt-get)."
fi

# Go: any go >= 1.$GO_MIN_MINOR builds FerretDB. With an older one (Debian's
# golang-go is 1.19) we fetch the official toolchain module from the Go module
# proxy with that go itself, and build with that toolchain.
GO="${JOURNEY_GO:-go}"
go_minor() { "$1" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p'; }
if ! command -v "$GO" >/dev/null 2>&1; then
  log "Go missing: installing golang-go from apt (only to fetch a newer toolchain)"
  apt_install golang-go || die "Go is required and could not be installed (need root + apt-get)."
  GO=go
fi
GO_MINOR="$(go_minor "$GO" || true)"
if [ -z "$GO_MINOR" ] || [ "$GO_MINOR" -lt "$GO_MIN_MINOR" ]; then
  TC_DIR="$CACHE/go-toolchain-$GO_FALLBACK_TOOLCHAIN"
  if [ ! -x "$TC_DIR/bin/go" ]; then
    log "$("$GO" version) is older than go1.$GO_MIN_MINOR: fetching toolchain module $GO_FALLBACK_TOOLCHAIN"
    mod="golang.org/toolchain@v0.0.1-$GO_FALLBACK_TOOLCHAIN.linux-$("$GO" env GOARCH)"
    dir="$(cd "$CACHE" && GOFLAGS= GO111MODULE=on "$GO" mod download -json "$mod" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -n "$dir" ] && [ -f "$dir/bin/go" ] || die "could not fetch Go toolchain module $mod"
    rm -rf "$TC_DIR.tmp" && cp -r "$dir" "$TC_DIR.tmp" && chmod -R u+w "$TC_DIR.tmp"
    chmod +x "$TC_DIR.tmp"/bin/* "$TC_DIR.tmp"/pkg/tool/*/* 2>/dev/null || true
    mv "$TC_DIR.tmp" "$TC_DIR"
  fi
  GO="$TC_DIR/bin/go"
  export GOROOT="$TC_DIR"
fi
export GOTOOLCHAIN=local

log "using $(java -version 2>&1 | head -n1), $(mvn -v 2>/dev/null | head -n1 | sed 's/\x1b\[[0-9;]*m//g'), $("$GO" version)"

# ---------------------------------------------------------------- Kafka ----
install_kafka() {
  local v="$1" dir="$CACHE/kafka-$1" stamp extra
  stamp="kafka $v recipe $RECIPE"
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ] &&
     [ -f "$dir/libs/kafka_2.13-$v.jar" ]; then
    log "Kafka $v: cached in $dir"
    return
  fi
  log "Kafka $v: resolving org.apache.kafka:kafka_2.13:$v and its runtime dependencies"
  case "$v" in
    3.*) extra="
      <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_VERSION</version></dependency>
      <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>$RELOAD4J_VERSION</version></dependency>" ;;
    *) extra="
      <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J2_VERSION</version></dependency>
      <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J2_VERSION</version></dependency>" ;;
  esac
  rm -rf "$dir" && mkdir -p "$dir"
  cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>journeyctl.test</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$v</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$v</version></dependency>$extra
  </dependencies>
</project>
EOF
  # (pipefail: a Maven failure fails the pipeline; sed only strips its colour codes)
  if ! mvn -B -q -Dstyle.color=never -f "$dir/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$dir/libs" 2>&1 |
      sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
    die "Maven could not resolve Kafka $v (see output above)"
  fi
  [ -f "$dir/libs/kafka_2.13-$v.jar" ] || die "Kafka $v: kafka_2.13-$v.jar missing after resolution"
  echo "$stamp" >"$dir/.installed"
  log "Kafka $v: installed $(ls "$dir/libs" | wc -l) jars into $dir/libs"
}

# ------------------------------------------------------------- FerretDB ----
install_ferretdb() {
  local v="$FERRETDB_VERSION" dir="$CACHE/ferretdb-$FERRETDB_VERSION" stamp src moddir
  stamp="ferretdb $v recipe $RECIPE"
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ] && [ -x "$dir/bin/ferretdb" ]; then
    log "FerretDB $v: cached in $dir"
    return
  fi
  log "FerretDB $v: downloading module github.com/FerretDB/FerretDB@$v and building cmd/ferretdb"
  rm -rf "$dir" && mkdir -p "$dir/bin"
  moddir="$(cd "$dir" && GOFLAGS= GO111MODULE=on "$GO" mod download -json "github.com/FerretDB/FerretDB@$v" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$moddir" ] && [ -f "$moddir/go.mod" ] || die "could not download github.com/FerretDB/FerretDB@$v"
  # `go install ...@v1.24.2` builds a binary that panics at start: the module
  # zip has no build/version/version.txt (upstream generates it with
  # `bin/task gen-version`). Build from a writable copy with that file
  # written, as upstream's build/version docs describe.
  src="$dir/src"
  cp -r "$moddir" "$src" && chmod -R u+w "$src"
  echo "$v" >"$src/build/version/version.txt"
  echo "journeyctl-test" >"$src/build/version/package.txt"
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$GO" build -trimpath -o "$dir/bin/ferretdb" ./cmd/ferretdb) >&2 ||
    die "building FerretDB $v failed (see output above)"
  rm -rf "$src"
  "$dir/bin/ferretdb" --version | grep -q "version: $v" || die "built FerretDB does not report $v"
  echo "$stamp" >"$dir/.installed"
  log "FerretDB $v: built $dir/bin/ferretdb"
}

for v in $KAFKA_VERSIONS; do install_kafka "$v"; done
install_ferretdb

# ------------------------------------------------------------ manifest ----
{
  echo "{"
  echo "  \"cache\": \"$CACHE\","
  echo "  \"kafka\": {"
  first=1
  for v in $KAFKA_VERSIONS; do
    [ "$first" = 1 ] || echo ","
    first=0
    printf '    "%s": "%s"' "$v" "$CACHE/kafka-$v/libs"
  done
  echo ""
  echo "  },"
  echo "  \"ferretdb\": { \"version\": \"$FERRETDB_VERSION\", \"bin\": \"$CACHE/ferretdb-$FERRETDB_VERSION/bin/ferretdb\" }"
  echo "}"
} >"$CACHE/manifest.json.tmp"
mv "$CACHE/manifest.json.tmp" "$CACHE/manifest.json"
log "done: $CACHE/manifest.json"
