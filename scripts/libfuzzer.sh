#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (cargo-fuzz, stable toolchain, no
# sanitizer: `-s none`) of the readers that need no training stack: MIDI,
# IDX and the initializer spec. The study-file and run-file readers, which
# pull in burn, are fuzzed by scripts/fuzz.sh's mutation fuzzer instead.
# Not part of `cargo xtask test`.
#
#   scripts/libfuzzer.sh [SECONDS] [CORPUS_DIR]   # default 600 s per target
# A crash leaves its input in scripts/libfuzzer/artifacts/<target>/; turn it
# into a regression test beside the reader's own tests.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
corpus="${2:-target/libfuzzer-corpus}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo fuzz build --fuzz-dir scripts/libfuzzer -s none -O
for t in midi idx spec; do
    mkdir -p "$corpus/$t"
    echo "== $t: $seconds s"
    nice -n 19 cargo fuzz run --fuzz-dir scripts/libfuzzer -s none -O "$t" "$corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
