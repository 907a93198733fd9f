#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (cargo-fuzz, stable toolchain, no
# sanitizer: `-s none`) of every reader of outside bytes: MIDI, IDX, the
# initializer spec, the study file and the run file (read and hash-checked).
# Each starts from the valid inputs `cargo xtask fuzz --write-seeds` writes.
# Not part of `cargo xtask test`.
#
#   scripts/libfuzzer.sh [SECONDS] [CORPUS_DIR] [TARGET...]
#       default 600 s per target, target/libfuzzer-corpus, every target
# A crash leaves its input in scripts/libfuzzer/artifacts/<target>/; turn it
# into a regression test beside the reader's own tests.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
corpus="${2:-target/libfuzzer-corpus}"
shift $(( $# < 2 ? $# : 2 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(midi idx spec study run_file)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo fuzz build --fuzz-dir scripts/libfuzzer -s none -O
cargo xtask fuzz --write-seeds "$corpus"
for t in "${targets[@]}"; do
    mkdir -p "$corpus/$t"
    echo "== $t: $seconds s"
    nice -n 19 cargo fuzz run --fuzz-dir scripts/libfuzzer -s none -O "$t" "$corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
