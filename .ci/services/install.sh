#!/usr/bin/env bash
# Installs the real services the test suite runs against, into a cache that
# survives between runs:
#   - Apache Kafka (KRaft) from Maven Central jars, one directory per version
#   - FerretDB (MongoDB wire protocol over SQLite), built from its Go module
#   - a Pub/Sub emulator: the Google Cloud CLI's (cloud-pubsub-emulator, Java)
#     when it is installed, else pstest-server built from
#     .ci/services/pubsub-emulator (Google's in-memory fake, Go module
#     cloud.google.com/go/pubsub/v2/pstest); clients reach either through
#     PUBSUB_EMULATOR_HOST
# (ClickHouse is served by chdb through test/harness/chdb-http-server.mjs; chdb
# itself comes from `npm ci`.)
#
# Idempotent: a finished install leaves a stamp file and is skipped next time.
# Fails loudly when something is missing; it never skips silently. A failure
# prints one line naming the service, the reason and the log path, and writes
# that line to $CACHE/install.failed (the test harness reports it). Tool output
# (apt, Maven, go) goes to $CACHE/install.log.
#
# No check pipes into a reader that may stop early (`cmd | grep -q`, `| head`):
# under pipefail the writer's SIGPIPE (141) would fail a check that passed.
# Outputs are captured into variables first, then matched. Runs as root on a fresh Debian machine (then it
# apt-installs a missing JRE or Maven) or as a normal user with the tools present.
#
#   JOURNEY_SERVICES_CACHE  cache root (default: $HOME/.cache/journeyctl-services)
#   JOURNEY_KAFKA_VERSIONS  space-separated Kafka versions (default below)
#   JOURNEY_PUBSUB_EMULATOR auto (default: gcloud when installed, else pstest),
#                           gcloud, pstest; set but empty: no Pub/Sub emulator.
#                           pstest is built in every case but the empty one: the
#                           crash test needs an emulator that redelivers a killed
#                           subscriber's messages (docs/decisions/0018).
set -euo pipefail

CACHE="${JOURNEY_SERVICES_CACHE:-$HOME/.cache/journeyctl-services}"
# Latest 3.9.x and latest 4.x on Maven Central (checked 2026-11).
KAFKA_VERSIONS="${JOURNEY_KAFKA_VERSIONS-3.9.2 4.4.0}"  # set but empty: no Kafka
FERRETDB_VERSION="v1.24.2"
PUBSUB_EMULATOR="${JOURNEY_PUBSUB_EMULATOR-auto}"
# The pstest module version is the one .ci/services/pubsub-emulator/go.mod requires
# (its go.mod says `go 1.26.0`: pstest needs go >= 1.26).
PSTEST_GO_MIN_MINOR=26
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

mkdir -p "$CACHE"
LOG="$CACHE/install.log"
FAILED="$CACHE/install.failed"
# fail SERVICE REASON: one line on stderr and in $FAILED, then exit 1.
fail() {
  local line="[services/install] $1 install failed: $2 (log: $LOG)"
  echo "$line" >&2
  echo "$line" >"$FAILED"
  exit 1
}
# The first line of a command's output, without a pipe (see above).
first_line() { local out; out="$("$@" 2>&1)" || return 1; printf '%s\n' "${out%%$'\n'*}"; }
# The "Dir" of `go mod download -json` output.
module_dir() { [[ $1 =~ \"Dir\":\ \"([^\"]*)\" ]] && printf '%s\n' "${BASH_REMATCH[1]}"; }

is_root() { [ "$(id -u)" = 0 ]; }
APT_UPDATED=0
apt_install() {
  is_root && command -v apt-get >/dev/null 2>&1 || return 1
  if [ "$APT_UPDATED" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$LOG" 2>&1 || return 1
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$LOG" 2>&1
}

exec 9>"$CACHE/.install.lock"
command -v flock >/dev/null 2>&1 && flock 9
# Under the lock: this run's log and verdict replace the last run's.
: >"$LOG"
rm -f "$FAILED"

# ---------------------------------------------------------------- tools ----
java_major() { local out; out="$(java -version 2>&1)" || return 1; [[ $out =~ version\ \"([0-9]+) ]] && echo "${BASH_REMATCH[1]}"; }
JAVA_MAJOR="$(command -v java >/dev/null 2>&1 && java_major || true)"
if [ -z "$JAVA_MAJOR" ] || [ "$JAVA_MAJOR" -lt 17 ]; then
  log "Java >= 17 missing (Kafka 4.x needs 17): installing openjdk-17-jre-headless"
  apt_install openjdk-17-jre-headless ||
    fail Kafka "Java 17+ is required and could not be installed (need root + apt-get, or put java 17+ on the PATH)"
fi
if ! command -v mvn >/dev/null 2>&1; then
  log "Maven missing: installing maven"
  apt_install maven || fail Kafka "Maven is required and could not be installed (need root + apt-get, or put mvn on the PATH)"
fi

# Go: any go >= 1.$GO_MIN_MINOR builds FerretDB. With an older one (Debian's
# golang-go is 1.19) we fetch the official toolchain module from the Go module
# proxy with that go itself, and build with that toolchain.
GO="${JOURNEY_GO:-go}"
go_minor() { local out; out="$("$1" env GOVERSION 2>/dev/null)" || return 1; [[ $out =~ ^go1\.([0-9]+) ]] && echo "${BASH_REMATCH[1]}"; }
if ! command -v "$GO" >/dev/null 2>&1; then
  log "Go missing: installing golang-go from apt (only to fetch a newer toolchain)"
  apt_install golang-go || fail FerretDB "Go is required and could not be installed (need root + apt-get, or put go on the PATH)"
  GO=go
fi
GO_MINOR="$(go_minor "$GO" || true)"
if [ -z "$GO_MINOR" ] || [ "$GO_MINOR" -lt "$GO_MIN_MINOR" ]; then
  TC_DIR="$CACHE/go-toolchain-$GO_FALLBACK_TOOLCHAIN"
  if [ ! -x "$TC_DIR/bin/go" ]; then
    log "$(first_line "$GO" version) is older than go1.$GO_MIN_MINOR: fetching toolchain module $GO_FALLBACK_TOOLCHAIN"
    mod="golang.org/toolchain@v0.0.1-$GO_FALLBACK_TOOLCHAIN.linux-$("$GO" env GOARCH)"
    json="$(cd "$CACHE" && GOFLAGS= GO111MODULE=on "$GO" mod download -json "$mod" 2>>"$LOG")" ||
      fail FerretDB "could not fetch the Go toolchain module $mod from the Go module proxy"
    dir="$(module_dir "$json" || true)"
    [ -n "$dir" ] && [ -f "$dir/bin/go" ] || fail FerretDB "the Go toolchain module $mod has no bin/go"
    rm -rf "$TC_DIR.tmp" && cp -r "$dir" "$TC_DIR.tmp" && chmod -R u+w "$TC_DIR.tmp"
    chmod +x "$TC_DIR.tmp"/bin/* "$TC_DIR.tmp"/pkg/tool/*/* 2>/dev/null || true
    mv "$TC_DIR.tmp" "$TC_DIR"
  fi
  GO="$TC_DIR/bin/go"
  export GOROOT="$TC_DIR"
fi
export GOTOOLCHAIN=local

MVN_VERSION="$(first_line mvn -B -v || true)"
while [[ $MVN_VERSION =~ $'\e'\[[0-9\;]*m ]]; do MVN_VERSION="${MVN_VERSION/"${BASH_REMATCH[0]}"/}"; done
log "using $(first_line java -version || true), $MVN_VERSION, $(first_line "$GO" version || true)"

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
  if ! mvn -B -q -Dstyle.color=never -f "$dir/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$dir/libs" >>"$LOG" 2>&1; then
    fail "Kafka $v" "Maven could not resolve org.apache.kafka:kafka_2.13:$v from Maven Central"
  fi
  [ -f "$dir/libs/kafka_2.13-$v.jar" ] || fail "Kafka $v" "kafka_2.13-$v.jar missing after Maven resolved the dependencies"
  echo "$stamp" >"$dir/.installed"
  local jars=("$dir"/libs/*.jar)
  log "Kafka $v: installed ${#jars[@]} jars into $dir/libs"
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
  local json
  json="$(cd "$dir" && GOFLAGS= GO111MODULE=on "$GO" mod download -json "github.com/FerretDB/FerretDB@$v" 2>>"$LOG")" ||
    fail "FerretDB $v" "could not download github.com/FerretDB/FerretDB@$v from the Go module proxy"
  moddir="$(module_dir "$json" || true)"
  [ -n "$moddir" ] && [ -f "$moddir/go.mod" ] || fail "FerretDB $v" "the downloaded module github.com/FerretDB/FerretDB@$v has no go.mod"
  # `go install ...@v1.24.2` builds a binary that panics at start: the module
  # zip has no build/version/version.txt (upstream generates it with
  # `bin/task gen-version`). Build from a writable copy with that file
  # written, as upstream's build/version docs describe.
  src="$dir/src"
  cp -r "$moddir" "$src" && chmod -R u+w "$src"
  echo "$v" >"$src/build/version/version.txt"
  echo "journeyctl-test" >"$src/build/version/package.txt"
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$GO" build -trimpath -o "$dir/bin/ferretdb" ./cmd/ferretdb) >>"$LOG" 2>&1 ||
    fail "FerretDB $v" "go build ./cmd/ferretdb failed"
  rm -rf "$src"
  local reported
  reported="$("$dir/bin/ferretdb" --version 2>&1)" || fail "FerretDB $v" "the built binary $dir/bin/ferretdb --version exited $?"
  echo "$reported" >>"$LOG"
  [[ $reported == *"version: $v"* ]] || fail "FerretDB $v" "the built binary does not report version $v (it said: ${reported%%$'\n'*})"
  echo "$stamp" >"$dir/.installed"
  log "FerretDB $v: built $dir/bin/ferretdb"
}

# ------------------------------------------------------ Pub/Sub emulator ----
# The Google Cloud CLI's emulator, found beside the gcloud on the PATH
# (.../google-cloud-sdk/bin/gcloud -> .../platform/pubsub-emulator); its version is
# the one in its jar's name.
PUBSUB_JSON="null"
PSTEST_JSON="null"
find_gcloud_pubsub() {
  local gcloud root jar
  gcloud="$(command -v gcloud 2>/dev/null)" || return 1
  root="$(dirname "$(dirname "$(readlink -f "$gcloud")")")"
  [ -x "$root/platform/pubsub-emulator/bin/cloud-pubsub-emulator" ] || return 1
  for jar in "$root"/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar; do
    [[ $jar =~ cloud-pubsub-emulator-([0-9][0-9.]*[0-9])(-all)?\.jar$ ]] || continue
    GCLOUD_PUBSUB_BIN="$root/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
    GCLOUD_PUBSUB_VERSION="gcloud cloud-pubsub-emulator ${BASH_REMATCH[1]}"
    return 0
  done
  return 1
}
install_pstest() {
  local src dir stamp version gomod
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pubsub-emulator"
  gomod="$(cat "$src/go.mod")" || fail "Pub/Sub emulator (pstest)" "$src/go.mod is missing"
  [[ $gomod =~ cloud\.google\.com/go/pubsub/v2\ (v[0-9][^[:space:]]*) ]] ||
    fail "Pub/Sub emulator (pstest)" "$src/go.mod requires no cloud.google.com/go/pubsub/v2"
  version="${BASH_REMATCH[1]}"
  dir="$CACHE/pubsub-pstest-$version"
  stamp="pstest $version recipe $RECIPE $(cksum <"$src/main.go")"
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$stamp" ] && [ -x "$dir/bin/pstest-server" ]; then
    log "Pub/Sub emulator: pstest $version cached in $dir"
  else
    local minor
    minor="$(go_minor "$GO" || true)"
    [ -n "$minor" ] && [ "$minor" -ge "$PSTEST_GO_MIN_MINOR" ] ||
      fail "Pub/Sub emulator (pstest $version)" "needs go >= 1.$PSTEST_GO_MIN_MINOR, found $(first_line "$GO" version || echo none) (or install the Google Cloud CLI's pubsub emulator)"
    log "Pub/Sub emulator: building pstest-server over cloud.google.com/go/pubsub/v2/pstest $version"
    rm -rf "$dir" && mkdir -p "$dir/bin"
    (cd "$src" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" "$GO" build -trimpath -o "$dir/bin/pstest-server" .) >>"$LOG" 2>&1 ||
      fail "Pub/Sub emulator (pstest $version)" "go build of $src failed (its modules come from the Go module proxy)"
    echo "$stamp" >"$dir/.installed"
    log "Pub/Sub emulator: built $dir/bin/pstest-server"
  fi
  PSTEST_JSON="{ \"emulator\": \"pstest\", \"version\": \"pstest $version\", \"bin\": \"$dir/bin/pstest-server\" }"
}
install_pubsub() {
  case "$PUBSUB_EMULATOR" in
    "") log "Pub/Sub emulator: none (JOURNEY_PUBSUB_EMULATOR is empty)" ;;
    auto | gcloud)
      if find_gcloud_pubsub; then
        log "Pub/Sub emulator: $GCLOUD_PUBSUB_VERSION at $GCLOUD_PUBSUB_BIN"
        install_pstest
        PUBSUB_JSON="{ \"emulator\": \"gcloud\", \"version\": \"$GCLOUD_PUBSUB_VERSION\", \"bin\": \"$GCLOUD_PUBSUB_BIN\" }"
      elif [ "$PUBSUB_EMULATOR" = gcloud ]; then
        fail "Pub/Sub emulator (gcloud)" "JOURNEY_PUBSUB_EMULATOR=gcloud but no gcloud with platform/pubsub-emulator is on the PATH"
      else
        install_pstest
        PUBSUB_JSON="$PSTEST_JSON"
      fi ;;
    pstest) install_pstest && PUBSUB_JSON="$PSTEST_JSON" ;;
    *) fail "Pub/Sub emulator" "JOURNEY_PUBSUB_EMULATOR=$PUBSUB_EMULATOR is not auto, gcloud, pstest or empty" ;;
  esac
}

for v in $KAFKA_VERSIONS; do install_kafka "$v"; done
install_ferretdb
install_pubsub

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
  echo "  \"ferretdb\": { \"version\": \"$FERRETDB_VERSION\", \"bin\": \"$CACHE/ferretdb-$FERRETDB_VERSION/bin/ferretdb\" },"
  echo "  \"pubsub\": $PUBSUB_JSON,"
  echo "  \"pstest\": $PSTEST_JSON"
  echo "}"
} >"$CACHE/manifest.json.tmp"
mv "$CACHE/manifest.json.tmp" "$CACHE/manifest.json"
log "done: $CACHE/manifest.json"
