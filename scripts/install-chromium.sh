#!/usr/bin/env bash
# Debian's Chromium for the web UI's browser tests (Playwright drives it; it cannot download
# its own browsers here). Quick when it is already installed.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "scripts/install-chromium.sh: need root to apt-get install chromium" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
