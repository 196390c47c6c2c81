#!/usr/bin/env bash
# Runs gridcase on this machine: nats-server and every service, one data directory.
# Usage: deploy/scripts/up.sh [--data DIR] [--processes] [other `gridcase up` flags]
set -euo pipefail
cd "$(dirname "$0")/../.."

deploy/scripts/ensure-nats-server.sh
# With --processes every service runs from its own binary: build them all.
if printf '%s\n' "$@" | grep -qx -- --processes; then
    cargo build --release --locked -p gridcase -p gridcase-store -p gridcase-intake \
        -p gridcase-triage -p gridcase-dispatch -p gridcase-supervision \
        -p gridcase-evaluation -p gridcase-query -p gridcase-gateway
else
    cargo build --release --locked -p gridcase
fi
# The sample bearer tokens: services refuse a token file every user may read.
chmod 600 deploy/config/tokens.toml
exec target/release/gridcase up "$@"
