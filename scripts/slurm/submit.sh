#!/usr/bin/env bash
# Queues an initlab grid on Slurm: an array of N shards, then the merge once
# every shard has succeeded. Run it from the checkout, on a node that sees
# SHARED_DIR, after `cargo build --release -p xtask`:
#
#   scripts/slurm/submit.sh SHARED_DIR N [reproduce flags: --profile paper --study NAME ...]
#
# It fetches the datasets (INITLAB_DATASETS, default mnist) into the cache
# first, once, so that N tasks do not download them at the same time. Extra
# sbatch options (partition, account, time limit) go in SBATCH_* variables
# (SBATCH_PARTITION, SBATCH_TIMELIMIT, ...), which sbatch reads. Prints the two
# job ids: array, merge.
#
# INITLAB_TASKS=3,5 (an sbatch --array list) submits only those tasks, and a
# merge of all N after them: how a task that was killed, preempted or failed
# is rerun. It trains only the runs its shard lacks.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 2 ]; then
    echo "usage: $0 SHARED_DIR N [reproduce flags]" >&2
    exit 2
fi
shared="$(mkdir -p "$1" && cd "$1" && pwd)"
shards="$2"
shift 2
if ! [[ "$shards" =~ ^[1-9][0-9]*$ ]]; then
    echo "N must be a positive number of shards, got '$shards'" >&2
    exit 2
fi
export INITLAB_SHARED="$shared" INITLAB_SHARDS="$shards"
export INITLAB_XTASK="${INITLAB_XTASK:-$PWD/target/release/xtask}"
if [ ! -x "$INITLAB_XTASK" ]; then
    echo "$INITLAB_XTASK not found: run 'cargo build --release -p xtask' first" >&2
    exit 1
fi

datasets=()
for d in ${INITLAB_DATASETS:-mnist}; do datasets+=(--dataset "$d"); done
"$INITLAB_XTASK" download "${datasets[@]}" >&2
array=$(sbatch --parsable --chdir="$shared" --array="${INITLAB_TASKS:-0-$((shards - 1))}" \
    scripts/slurm/reproduce.sbatch "$@")
array="${array%%;*}"
# If a shard fails, the merge can never run: Slurm cancels it rather than
# leaving it pending. Fix the cause and resubmit with INITLAB_TASKS.
merge=$(sbatch --parsable --chdir="$shared" --dependency="afterok:$array" \
    --kill-on-invalid-dep=yes scripts/slurm/merge.sbatch)
echo "$array ${merge%%;*}"
