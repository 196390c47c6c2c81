#!/usr/bin/env bash
# Plays a day of cases through gridcase on this machine: starts its own nats-server and every
# service in a fresh data directory with a compressed clock, then prints the board and the
# department ranking. Usage: deploy/scripts/demo.sh [--cases N] [other `gridcase demo` flags]
set -euo pipefail
cd "$(dirname "$0")/../.."

deploy/scripts/ensure-nats-server.sh
cargo build --release --locked -p gridcase
# The sample bearer tokens: services refuse a token file every user may read.
chmod 600 deploy/config/tokens.toml
exec target/release/gridcase demo "$@"
