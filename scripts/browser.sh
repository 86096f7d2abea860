#!/usr/bin/env bash
# Makes sure the browser of the hosted-page tests is here: Debian's
# chromium-headless-shell (installed from Debian's packages when missing; needs
# root, as on CI machines). Prints the browser's path.
set -euo pipefail
browser=${COGNATE_CHROMIUM:-/usr/bin/chromium-headless-shell}
if [ ! -x "$browser" ]; then
  echo "installing chromium-headless-shell from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium-headless-shell >&2
fi
[ -x "$browser" ] || { echo "no browser at $browser" >&2; exit 1; }
echo "$browser"
