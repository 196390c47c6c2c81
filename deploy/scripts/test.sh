#!/usr/bin/env bash
# Runs every test of gridcase: unit tests, the store conformance suite, and the integration
# tests against a real nats-server (installed first when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

deploy/scripts/ensure-nats-server.sh
cargo test --workspace --locked "$@"
