#!/usr/bin/env bash
# kill -9 at 20 random instants of one grid (a 24-run fixture MLP grid, 120 epochs, on
# a small synthetic MNIST, resumed after each kill), then a final rerun: every
# run once, with the output hashes of an uninterrupted grid. Minutes of CPU,
# so not part of `cargo xtask test`; CI keeps its single-kill test.
#
#   scripts/kill-grid.sh                 # 20 kills, seeded from the clock
#   INITLAB_KILLS=5 INITLAB_KILL_SEED=42 scripts/kill-grid.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec nice -n 19 cargo test --release -p xtask --test cli -- \
    --ignored --exact --nocapture \
    kill_nine_at_twenty_random_instants_loses_and_repeats_nothing
