#!/usr/bin/env bash
# Runs every test of gridcase: unit tests, the store conformance suite, the integration
# tests against a real nats-server, and the browser tests of the gateway's pages in a real
# headless Chromium (nats-server, chromium and chromium-driver are installed first when
# missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

deploy/scripts/ensure-nats-server.sh
deploy/scripts/ensure-chromium.sh
# The sample bearer tokens: services refuse a token file every user may read.
chmod 600 deploy/config/tokens.toml
cargo test --workspace --locked "$@"
# Every fuzz target for a bounded time over its committed corpus (GRIDCASE_FUZZ_SECONDS each).
deploy/scripts/fuzz.sh
