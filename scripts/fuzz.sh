#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer on the stable toolchain.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Builds fuzz/ with SanitizerCoverage instrumentation (what `cargo fuzz`
# passes, minus the address sanitizer, which needs nightly: the code under test
# is safe Rust, the findings sought are panics, hangs, and allocations out of
# proportion to the input), then runs each target for SECONDS (default 60)
# from the committed seed corpus (fuzz/corpus/TARGET) plus what earlier runs
# found (fuzz/work/TARGET, not committed). A crash, a timeout (an input taking
# over 10 s), an RSS past 2 GiB or a single allocation out of proportion to the input (fuzz_targets/common/alloc_guard.rs) fails the
# run and leaves the input in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then TARGETS=(request restore rdb); fi

export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros.
HOST=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --bins --target "$HOST" --target-dir target 2>&1 | tail -n 3
BIN="target/$HOST/release"

status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "work/$t" "artifacts/$t"
    echo "== fuzz target $t: ${SECONDS_PER_TARGET}s"
    if ! "$BIN/$t" "work/$t" "corpus/$t" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 2>"work/$t.log"; then
        status=1
        echo "FAILED: $t (see fuzz/work/$t.log and fuzz/artifacts/$t/)"
        tail -n 40 "work/$t.log"
    else
        grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)|cov: " "work/$t.log" | tail -n 4
    fi
done
exit $status
