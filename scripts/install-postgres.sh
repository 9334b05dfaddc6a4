#!/usr/bin/env bash
# Install the PostgreSQL server binaries the session tests start (Debian's `postgresql`
# package; the tests run it as the unprivileged `postgres` user in a temporary directory, on
# 127.0.0.1). Quick when already installed. Called by scripts/test.sh.
set -euo pipefail

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL server binaries missing: install Debian's 'postgresql' package (needs root)" >&2
    exit 1
fi
echo "== installing PostgreSQL (Debian package) for the session tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# The package may start a cluster of its own; the tests do not use it.
if command -v pg_ctlcluster >/dev/null 2>&1; then
    for cluster in /etc/postgresql/*/main; do
        [ -d "$cluster" ] || continue
        version="$(basename "$(dirname "$cluster")")"
        pg_ctlcluster "$version" main stop >/dev/null 2>&1 || true
    done
fi
