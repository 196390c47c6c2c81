#!/usr/bin/env bash
# Runs every fuzz target of tests/fuzz for a bounded time over its committed seed corpus and
# fails on the first crash. New inputs the fuzzer finds go to a scratch directory, so a run
# leaves the tree clean; a crashing input is kept under tests/fuzz/artifacts/<target>/.
#
#   GRIDCASE_FUZZ_SECONDS    seconds per target (default 7)
#   GRIDCASE_FUZZ_TARGETS    targets to run, space-separated (default: all)
#   GRIDCASE_FUZZ_SANITIZER  cargo fuzz's sanitizer (default none: the code forbids unsafe, and
#                            without instrumentation for memory errors a run does far more
#                            executions on a small machine; `address` for a deeper run)
#   GRIDCASE_FUZZ_SCRATCH    where new corpus entries go (default: a temporary directory)
#
# `fuzz.sh seeds` instead writes the seed corpus again from real encodings
# (tests/fuzz/examples/seeds.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${GRIDCASE_FUZZ_SECONDS:-7}"
sanitizer="${GRIDCASE_FUZZ_SANITIZER:-none}"
fuzz_dir=tests/fuzz

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz.sh: cargo fuzz needs the nightly Rust toolchain, which is not installed." >&2
    echo "  Install it with: rustup toolchain install nightly --profile minimal" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [ "${1:-}" = seeds ]; then
    cargo +nightly run --release --manifest-path "$fuzz_dir/Cargo.toml" --example seeds -- \
        "$fuzz_dir/corpus"
    exit 0
fi

if [ -n "${GRIDCASE_FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$GRIDCASE_FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir "$fuzz_dir")
fi

scratch="${GRIDCASE_FUZZ_SCRATCH:-}"
if [ -z "$scratch" ]; then
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
fi

started=$SECONDS
echo "fuzz.sh: building ${#targets[@]} targets (sanitizer $sanitizer)"
# One build of every target (`cargo fuzz build` takes one target or all); each run then finds
# its binary up to date.
cargo +nightly fuzz build --fuzz-dir "$fuzz_dir" -s "$sanitizer" --codegen-units 16
echo "fuzz.sh: built in $((SECONDS - started)) s; running each target for ${seconds} s"

failed=()
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
    if cargo +nightly fuzz run --fuzz-dir "$fuzz_dir" -s "$sanitizer" --codegen-units 16 "$target" \
        "$scratch/$target" "$fuzz_dir/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
        stat() { grep -m1 -o "stat::$1: *[0-9]*" "$log" | grep -o '[0-9]*$' || echo '?'; }
        echo "fuzz.sh: $target: ok, $(stat number_of_executed_units) runs in ${seconds} s" \
            "($(stat average_exec_per_sec)/s)"
    else
        echo "fuzz.sh: $target: FAILED" >&2
        grep -m1 -A3 -E 'panicked at|ERROR: libFuzzer' "$log" >&2 || true
        grep -E 'Failing input|artifacts/|Reproduce with|cargo fuzz run' "$log" >&2 || tail -n 20 "$log" >&2
        failed+=("$target")
    fi
done

echo "fuzz.sh: done in $((SECONDS - started)) s"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz.sh: crashes in: ${failed[*]} (inputs in $fuzz_dir/artifacts/)" >&2
    exit 1
fi
