#!/usr/bin/env bash
# Install the pinned JavaScript clients (if needed) and run the Node.js
# conformance suite against a Cognate server it starts itself.
# Needs only Node.js 20+ and npm. Extra arguments go to `node --test`,
# e.g. ./run.sh --test-name-pattern=SRP
# Env: COGNATE_BIN (server binary, default <repo>/target/debug/cognate)
#      COGNATE_CONFORMANCE_DATABASE_URL (run on that PostgreSQL database)
#      COGNATE_ENDPOINT (use an already running server instead)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE" || exit 1

# `npm ci` when node_modules is missing or older than the lockfile it was
# installed from (npm records that in node_modules/.package-lock.json).
STAMP="node_modules/.package-lock.json"
if [ ! -f "$STAMP" ] || [ package-lock.json -nt "$STAMP" ] || [ package.json -nt "$STAMP" ]; then
    npm ci --no-audit --no-fund --loglevel=error || exit $?
fi

node --test --test-concurrency=1 "$@" tests/
exit $?
