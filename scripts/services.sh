#!/usr/bin/env bash
# Makes sure Redis and a MongoDB-compatible server answer (docs/architecture.md, invariants). Idempotent.
#   - uses REDIS_URL / MONGODB_URI when they answer;
#   - else starts redis-server (installed from Debian when missing and root) with AOF and noeviction;
#   - else starts mongod when on PATH, or FerretDB 1.24.2 on SQLite (installed with `go install` when missing).
# Data lives under .trackmate/. Prints `export NAME=value` lines for the URIs on stdout; progress goes to stderr.
# Fails with one clear line when a service cannot be had.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/.trackmate"
mkdir -p "$data"

REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
MONGODB_URI="${MONGODB_URI:-mongodb://127.0.0.1:27017/trackmate}"
FERRETDB_VERSION="v1.24.2"

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: %s\n' "$*" >&2; exit 1; }

# host and port of a redis:// or mongodb:// URL (first host only).
url_host() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; rest="${rest%%,*}"; echo "${rest%%:*}"; }
url_port() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; rest="${rest%%,*}"; [[ "$rest" == *:* ]] && echo "${rest##*:}" || echo "$2"; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

redis_answers() {
  local host port
  host=$(url_host "$REDIS_URL"); port=$(url_port "$REDIS_URL" 6379)
  port_open "$host" "$port" || return 1
  # A PING must get PONG (or NOAUTH, which still proves a Redis is there).
  local reply
  reply=$(exec 3<>"/dev/tcp/$host/$port"; printf 'PING\r\n' >&3; IFS= read -r -t 2 line <&3 || true; echo "${line:-}")
  [[ "$reply" == *PONG* || "$reply" == *NOAUTH* ]]
}

mongo_answers() {
  local host port
  host=$(url_host "$MONGODB_URI"); port=$(url_port "$MONGODB_URI" 27017)
  port_open "$host" "$port" || return 1
  if [[ -f "$root/node_modules/mongodb/package.json" ]]; then
    MONGODB_URI="$MONGODB_URI" timeout 20 node -e '
      const { MongoClient } = require(process.argv[1]);
      const c = new MongoClient(process.env.MONGODB_URI, { serverSelectionTimeoutMS: 3000 });
      c.db().command({ ping: 1 }).then(() => process.exit(0), () => process.exit(1)).finally(() => c.close());
    ' "$root/node_modules/mongodb" >/dev/null 2>&1
  fi
}

wait_for() { # name check seconds
  local i
  for ((i = 0; i < $3 * 4; i++)); do "$2" && return 0; sleep 0.25; done
  return 1
}

apt_install() {
  [[ $(id -u) == 0 ]] || return 1
  command -v apt-get >/dev/null || return 1
  log "installing $* with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$data/apt.log" 2>&1; then
    apt-get update -qq >>"$data/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$data/apt.log" 2>&1 || return 1
  fi
}

start_redis() {
  if redis_answers; then log "Redis answers at $REDIS_URL"; return; fi
  local host port
  host=$(url_host "$REDIS_URL"); port=$(url_port "$REDIS_URL" 6379)
  [[ "$host" == 127.0.0.1 || "$host" == localhost ]] || die "Redis at $REDIS_URL does not answer (it is not local, so it is not started here)"
  command -v redis-server >/dev/null || apt_install redis-server || true
  command -v redis-server >/dev/null || die "no Redis: install redis-server (apt-get install redis-server) or set REDIS_URL"
  mkdir -p "$data/redis"
  log "starting redis-server on 127.0.0.1:$port (AOF everysec, noeviction)"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$data/redis" --appendonly yes --appendfsync everysec \
    --maxmemory-policy noeviction --save '' --daemonize yes --pidfile "$data/redis/redis.pid" \
    --logfile "$data/redis/redis.log" >/dev/null
  wait_for redis redis_answers 20 || die "redis-server did not answer on port $port (see $data/redis/redis.log)"
}

# A FerretDB binary that starts. `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` alone gives a
# binary that panics at start (build/version/version.txt is written by FerretDB's release tooling and is not
# in the module), so the same module version is built from the Go module proxy with that file written.
ferretdb_bin() {
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/trackmate" candidate
  for candidate in "$(command -v ferretdb || true)" "$cache/bin/ferretdb"; do
    if [[ -n "$candidate" && -x "$candidate" ]] && "$candidate" --version >/dev/null 2>&1; then
      echo "$candidate"; return
    fi
  done
  command -v go >/dev/null || return 0
  log "building FerretDB $FERRETDB_VERSION from the Go module proxy (first time only, about a minute)"
  local src="$cache/ferretdb-src" dir
  dir=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" 2>"$data/go-install.log" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
  [[ -n "$dir" && -d "$dir" ]] || die "could not download FerretDB $FERRETDB_VERSION with go (see $data/go-install.log)"
  rm -rf "$src" && mkdir -p "$cache/bin" && cp -r "$dir" "$src" && chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  (cd "$src" && go build -o "$cache/bin/ferretdb" ./cmd/ferretdb) >>"$data/go-install.log" 2>&1 ||
    die "building FerretDB failed (see $data/go-install.log)"
  echo "$cache/bin/ferretdb"
}

# A database file FerretDB began and never finished (it was killed while creating a test's database: the file is
# empty, or SQLite's header with no table) stops FerretDB from starting at all ("no such table:
# _ferretdb_collections"). Such a file holds nothing: it is set aside in $data/ferretdb-aside/ and said so.
set_aside_unfinished_databases() {
  local f tables
  for f in "$data/ferretdb"/*.sqlite; do
    [[ -f "$f" ]] || continue
    if [[ -s "$f" ]]; then
      command -v sqlite3 >/dev/null || continue
      tables=$(sqlite3 -readonly "$f" "SELECT count(*) FROM sqlite_master" 2>/dev/null) || continue
      [[ "$tables" == 0 ]] || continue
    fi
    mkdir -p "$data/ferretdb-aside"
    log "setting aside $(basename "$f"): a database FerretDB never finished creating, with no table (in $data/ferretdb-aside/)"
    mv "$f" "$f-wal" "$f-shm" "$data/ferretdb-aside/" 2>/dev/null || true
  done
}

start_mongo() {
  if mongo_answers; then log "MongoDB-wire server answers at ${MONGODB_URI%%\?*}"; return; fi
  local host port
  host=$(url_host "$MONGODB_URI"); port=$(url_port "$MONGODB_URI" 27017)
  [[ "$host" == 127.0.0.1 || "$host" == localhost ]] || die "MongoDB at $host:$port does not answer (it is not local, so it is not started here)"
  if port_open "$host" "$port"; then
    # Something listens but does not answer a ping yet (a server still starting): give it time.
    wait_for mongo mongo_answers 30 && return
    die "port $port is taken by something that does not answer as MongoDB"
  fi
  if command -v mongod >/dev/null; then
    mkdir -p "$data/mongod"
    log "starting mongod on 127.0.0.1:$port"
    mongod --bind_ip 127.0.0.1 --port "$port" --dbpath "$data/mongod" --fork --logpath "$data/mongod/mongod.log" >/dev/null
  else
    local bin
    bin="$(ferretdb_bin)"
    [[ -n "$bin" ]] || die "no MongoDB-compatible server: install mongod, or Go (to install FerretDB), or set MONGODB_URI"
    mkdir -p "$data/ferretdb"
    set_aside_unfinished_databases
    log "starting FerretDB $FERRETDB_VERSION (SQLite) on 127.0.0.1:$port"
    # Go's garbage collector at 400 % heap growth, its heap held under 768 MiB: at Go's default (100 %) collection
    # took about a tenth of FerretDB's CPU in a drain (docs/production.md). GOGC / GOMEMLIMIT set by you are kept.
    GOGC="${GOGC:-400}" GOMEMLIMIT="${GOMEMLIMIT:-768MiB}" nohup "$bin" --handler=sqlite --sqlite-url="file:$data/ferretdb/" --listen-addr="127.0.0.1:$port" \
      --telemetry=disable --state-dir="$data/ferretdb" --log-level=error >>"$data/ferretdb/ferretdb.log" 2>&1 &
    echo $! >"$data/ferretdb/ferretdb.pid"
  fi
  wait_for mongo mongo_answers 30 || die "the MongoDB-compatible server did not answer on port $port (see $data/)"
}

# FerretDB on SQLite reads the whole table for each lookup by _id unless its tables get the index of
# scripts/ferretdb-id-index.sh; a watcher adds it to each collection FerretDB creates, for as long as it runs.
watch_ferretdb_ids() {
  local pidfile="$data/ferretdb/ferretdb.pid" watcher="$data/ferretdb/id-index.pid" pid
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null || return 0 # not a FerretDB started here
  pid="$(cat "$pidfile")"
  # a watcher of this FerretDB runs already (one of a FerretDB since restarted stops by itself)
  if [[ -f "$watcher" ]] && [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$(cat "$watcher")/cmdline")" == *"--watch $pid "* ]]; then
    return 0
  fi
  command -v sqlite3 >/dev/null || apt_install sqlite3 || true
  if ! command -v sqlite3 >/dev/null; then
    log "no sqlite3 shell: FerretDB's lookups by _id stay full-table reads (apt-get install sqlite3)"
    return 0
  fi
  log "indexing FerretDB's tables for lookups by _id (scripts/ferretdb-id-index.sh)"
  nohup bash "$root/scripts/ferretdb-id-index.sh" --watch "$pid" "$data/ferretdb" \
    >>"$data/ferretdb/id-index.log" 2>&1 &
  echo $! >"$watcher"
}

start_redis
start_mongo
watch_ferretdb_ids
echo "export REDIS_URL=$REDIS_URL"
echo "export MONGODB_URI=$MONGODB_URI"
