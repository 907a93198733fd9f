#!/usr/bin/env bash
# kill -9 at 20 random instants of one grid (a 24-run fixture MLP grid, 120 epochs, on
# a small synthetic MNIST, resumed after each kill), then a final rerun: every
# run once, with the output hashes of an uninterrupted grid. Minutes of CPU;
# `cargo xtask test` runs the same test with 3 kills.
#
#   scripts/kill-grid.sh                 # 20 kills, seeded from the clock
#   INITLAB_KILLS=5 INITLAB_KILL_SEED=42 scripts/kill-grid.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export INITLAB_KILLS="${INITLAB_KILLS:-20}"
exec nice -n 19 cargo test --release -p xtask --test cli -- \
    --exact --nocapture kill_nine_at_random_instants_loses_and_repeats_nothing
