#!/usr/bin/env bash
# Installs nats-server (Debian's package, 2.9.x) when it is not on this machine yet.
set -euo pipefail

if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || [ -n "${GRIDCASE_NATS_SERVER:-}" ]; then
    exit 0
fi
echo "nats-server is missing: installing Debian's nats-server package" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
else
    SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server >/dev/null
nats-server --version
