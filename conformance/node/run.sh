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

# `npm ci` when node_modules is missing or was installed from another
# package.json / package-lock.json than the ones here now.
STAMP="node_modules/.conformance-lock.sha256"
want="$(node -e '
const { createHash } = require("node:crypto");
const { readFileSync } = require("node:fs");
const h = createHash("sha256");
for (const f of ["package.json", "package-lock.json"]) h.update(readFileSync(f));
process.stdout.write(h.digest("hex"));
')" || exit 1
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ ! -d node_modules ] || [ "$want" != "$have" ]; then
    npm ci --no-audit --no-fund --loglevel=error || exit $?
    printf '%s\n' "$want" > "$STAMP"
fi

node --test --test-concurrency=1 "$@" tests/
exit $?
