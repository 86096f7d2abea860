#!/usr/bin/env bash
# Idempotently create conformance/.venv and install the pinned clients.
# Needs only python3 (3.11) with the venv module. On Debian/Ubuntu, if
# `python3 -m venv` fails with "ensurepip is not available", install the
# python3-venv package (apt-get install python3-venv).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
REQ="$HERE/requirements.txt"
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV"; then
        rm -rf "$VENV"
        echo "setup.sh: '$PYTHON -m venv' failed; on Debian install python3-venv (apt-get install python3-venv)" >&2
        exit 1
    fi
fi

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$REQ"
    echo "$want" > "$STAMP"
fi
