#!/usr/bin/env bash
# Runs gridcase on this machine: nats-server and every service, one data directory.
# Usage: deploy/scripts/up.sh [--data DIR] [other `gridcase up` flags]
set -euo pipefail
cd "$(dirname "$0")/../.."

deploy/scripts/ensure-nats-server.sh
cargo build --release --locked -p gridcase
# The sample bearer tokens: services refuse a token file every user may read.
chmod 600 deploy/config/tokens.toml
exec target/release/gridcase up "$@"
