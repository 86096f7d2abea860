#!/usr/bin/env bash
# Starts (or stops) a throw-away PostgreSQL 15 server on loopback for the test suite.
#   scripts/postgres.sh start DIR   -> prints the server URL on stdout
#   scripts/postgres.sh stop DIR
# Installs Debian's postgresql-15 when it is missing (root, as on CI machines).
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?data directory}
port=${COGNATE_PG_PORT:-55432}
bin=/usr/lib/postgresql/15/bin

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  if [ ! -x "$bin/initdb" ]; then
    echo "installing postgresql-15 from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql-15 >&2
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log" >&2; exit 1; }
  fi
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >&2
  echo "postgres://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  [ -f "$dir/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >&2 || true
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
