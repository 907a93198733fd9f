#!/usr/bin/env bash
# Fuzz the readers of outside input, one target after another, at the lowest
# CPU priority: the MIDI reader, the IDX reader, the study-file parser, the
# initializer-spec parser and the run-file reader. A mutation fuzzer without
# coverage feedback (see xtask/src/fuzz.rs); a panic or hang stops it and
# keeps the input in target/fuzz/<target>/. Not part of `cargo xtask test`.
#
#   scripts/fuzz.sh                  # 10 minutes per target
#   scripts/fuzz.sh 60 idx spec      # 60 s each for two targets
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
targets=()
for t in "${@:-midi idx study spec run-file}"; do
    for name in $t; do targets+=(--target "$name"); done
done
cargo build --release -p xtask
# An input that makes a reader allocate without bound then aborts the process
# (allocation failure) instead of taking the machine's memory; the input is
# left in /dev/shm/initlab-fuzz-<pid>/<Target>-current.
ulimit -v 4000000
nice -n 19 target/release/xtask fuzz --seconds "$seconds" "${targets[@]}" || {
    status=$?
    echo "fuzz: stopped (exit $status); an aborted run's input is in /dev/shm/initlab-fuzz-*/" >&2
    exit "$status"
}
