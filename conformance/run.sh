#!/usr/bin/env bash
# Build the venv (if needed) and run the conformance suite.
# Extra arguments go to pytest, e.g. ./run.sh -k pools -x
# Env: COGNATE_BIN (server binary, default <repo>/target/debug/cognate)
#      COGNATE_ENDPOINT (use an already running server instead)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$HERE/setup.sh" || exit $?
cd "$HERE" || exit 1
"$HERE/.venv/bin/python" -m pytest -c "$HERE/pytest.ini" -q "$HERE/python" "$@"
exit $?
