#!/usr/bin/env bash
# The Slurm recipe end to end on this machine, with real daemons: starts munged,
# slurmctld and slurmd on localhost with a minimal config under a temporary
# directory, submits the smoke profile of a study as an array of 3 shards plus
# the dependent merge (scripts/slurm/submit.sh), and checks the merged store
# against one unsharded process: the same run ids, the same config, initial and
# output hashes, the same report tables. Then it kills a shard part way,
# resubmits it, merges again and checks the same.
#
#   scripts/slurm/test-local.sh            # from CI (.ci/run), as root
#
# It installs nothing: `apt-get install slurmctld slurmd slurm-client munge`
# first. Where a daemon cannot start (not installed, no root, a container
# without the rights slurmd needs), it prints one line saying so and exits 0.
# Every daemon it started is stopped by its process id on exit.
#
# Environment: INITLAB_SLURM_STUDY (default mlp-keras), INITLAB_SLURM_SHARDS
# (3), INITLAB_SLURM_TIMEOUT (seconds per wait, 300), INITLAB_SLURM_KEEP=1
# keeps the temporary directory (logs, stores) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
study="${INITLAB_SLURM_STUDY:-mlp-keras}"
shards="${INITLAB_SLURM_SHARDS:-3}"
timeout="${INITLAB_SLURM_TIMEOUT:-300}"
started=$SECONDS

skip() {
    echo "slurm test skipped: $*"
    exit 0
}
fail() {
    echo "slurm test FAILED: $*" >&2
    exit 1
}
# The last non-empty line of the given files that exist (a daemon's last word).
last_line() {
    cat "$@" 2>/dev/null | grep -v '^[[:space:]]*$' | tail -n 1 || true
}

for cmd in munged munge slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
    command -v "$cmd" >/dev/null 2>&1 \
        || skip "$cmd not found (apt-get install slurmctld slurmd slurm-client munge)"
done
[ "$(id -u)" = 0 ] || skip "slurmd needs root to start jobs as their user"

# The shards run the release binary, as on a cluster (see reproduce.sbatch).
cargo build --release --quiet -p xtask
xtask="$root/target/release/xtask"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/initlab-slurm.XXXXXX")
# munged insists that every directory above its socket be searchable by all.
chmod 755 "$tmp"
pids=()
jobs_submitted=()
cleanup() {
    local status=$?
    set +e
    if [ ${#jobs_submitted[@]} -gt 0 ]; then
        scancel "${jobs_submitted[@]}" >/dev/null 2>&1
    fi
    # Daemons in reverse order of starting: slurmd, slurmctld, munged.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null
        for _ in $(seq 50); do
            kill -0 "${pids[i]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "${pids[i]}" 2>/dev/null
        wait "${pids[i]}" 2>/dev/null
    done
    if [ "${INITLAB_SLURM_KEEP:-0}" = 1 ] || [ $status -ne 0 ]; then
        echo "slurm test: logs and stores kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

# munge: a fresh key, socket, pid and seed under $tmp.
mkdir -m 755 "$tmp/munge"
head -c 1024 /dev/urandom >"$tmp/munge/munge.key"
chmod 400 "$tmp/munge/munge.key"
munged --foreground --socket="$tmp/munge/munge.socket" \
    --key-file="$tmp/munge/munge.key" --pid-file="$tmp/munge/munged.pid" \
    --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/munged.seed" \
    >"$tmp/munge/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
    [ -S "$tmp/munge/munge.socket" ] && break
    kill -0 "${pids[0]}" 2>/dev/null || break
    sleep 0.1
done
if ! munge -S "$tmp/munge/munge.socket" -n </dev/null >/dev/null 2>&1; then
    why=$(last_line "$tmp/munge/munged.out")
    skip "munged did not start${why:+: $why}"
fi

# slurm: one node, this machine, on ports of its own so that a system
# Slurm (default 6817/6818) is left alone.
host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/log"
: >"$tmp/plugstack.conf"
cat >"$tmp/slurm.conf" <<EOF
ClusterName=initlab-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
PlugStackConfig=$tmp/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
KillWait=5
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"
slurmctld -D -f "$SLURM_CONF" >"$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" >"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
node=""
for _ in $(seq 150); do
    node=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
    [ "$node" = idle ] && break
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null || break 2
    done
    sleep 0.2
done
if [ "$node" != idle ]; then
    why=""
    kill -0 "${pids[1]}" 2>/dev/null \
        || why="slurmctld exited: $(last_line "$tmp/log/slurmctld.log" "$tmp/log/slurmctld.out")"
    kill -0 "${pids[2]}" 2>/dev/null \
        || why="${why:+$why; }slurmd exited: $(last_line "$tmp/log/slurmd.log" "$tmp/log/slurmd.out")"
    skip "no Slurm node came up (node state '${node:-none}')${why:+: $why}"
fi
echo "slurm test: munged, slurmctld, slurmd up in $((SECONDS - started)) s (pids ${pids[*]}), node $host with $(nproc) CPUs"

# Waits until none of the given jobs is queued or running; fails if the
# merge can never run because a shard failed.
wait_jobs() {
    local ids deadline=$((SECONDS + timeout))
    ids=$(
        IFS=,
        echo "$*"
    )
    while [ -n "$(squeue -h -j "$ids" -o %i 2>/dev/null)" ]; do
        if squeue -h -j "$ids" -o %r 2>/dev/null | grep -q DependencyNeverSatisfied; then
            fail "a shard failed, so the merge never ran: $(tail -n 3 "$shared"/initlab-shard-*.out)"
        fi
        [ $SECONDS -lt $deadline ] || fail "jobs $* still queued after $timeout s: $(squeue -h)"
        sleep 0.5
    done
}

# The states Slurm recorded for a finished job's tasks, distinct, comma-separated
# (COMPLETED; FAILED; COMPLETED,FAILED ...).
job_state() {
    scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort -u | paste -sd,
}

# The run ids stored in the store $1, sorted, one a line.
run_ids() {
    find "$1/runs" -name '*.h5' ! -name '.*' -printf '%f\n' | sort
}

# Dies unless the store in $2 holds the same runs as the one in $1: same ids,
# and (merge refuses any id whose hashes differ) the same config, initial and
# output hashes; the same tables in the report.
same_store() {
    local a=$1 b=$2
    diff <(run_ids "$a") <(run_ids "$b") >/dev/null \
        || fail "run ids differ: $(diff <(run_ids "$a") <(run_ids "$b") | tr '\n' ' ')"
    local n
    n=$(run_ids "$a" | wc -l)
    rm -rf "$tmp/compare"
    "$xtask" merge --out "$tmp/compare" "$a" "$b" >/dev/null 2>"$tmp/compare.err" \
        || fail "the stores disagree: $(cat "$tmp/compare.err")"
    grep -q "$n identical duplicates taken once" "$tmp/compare.err" \
        || fail "expected $n identical runs: $(cat "$tmp/compare.err")"
    diff <(grep '^|' "$a/report.md") <(grep '^|' "$b/report.md") >"$tmp/tables.diff" \
        || fail "report tables differ: $(cat "$tmp/tables.diff")"
    echo "slurm test: $b equals $a: $n runs, same ids, hashes and tables"
}

# The reference: one process, no Slurm.
"$xtask" reproduce --profile smoke --study "$study" --out "$tmp/single" \
    >"$tmp/single.out" 2>&1 || fail "unsharded reproduce: $(tail -n 5 "$tmp/single.out")"

shared="$tmp/shared"
t0=$SECONDS
read -r array merge < <(scripts/slurm/submit.sh "$shared" "$shards" --profile smoke --study "$study" 2>"$tmp/submit.err") \
    || fail "submit.sh: $(cat "$tmp/submit.err")"
jobs_submitted+=("$array" "$merge")
echo "slurm test: array job $array ($shards shards of $study, smoke), merge job $merge after it"
wait_jobs "$array" "$merge"
[ "$(job_state "$merge")" = COMPLETED ] \
    || fail "merge job $merge: $(job_state "$merge"): $(tail -n 3 "$shared"/initlab-*.out)"
[ "$(job_state "$array")" = COMPLETED ] || fail "array job $array: $(job_state "$array")"
for ((i = 0; i < shards; i++)); do
    [ ! -e "$shared/shard-$i/results.h5" ] || fail "shard $i wrote a results.h5"
done
echo "slurm test: array and merge finished in $((SECONDS - t0)) s"
same_store "$tmp/single" "$shared/merged"

# A shard killed part way and resubmitted: task 0 again from nothing,
# cancelled with SIGKILL as soon as its first run file is in place, then
# rerun with its merge the way the README says (INITLAB_TASKS=0 submit.sh).
rm -rf "$shared/shard-0" "$shared/merged"
killed=$(INITLAB_SHARED="$shared" INITLAB_SHARDS="$shards" INITLAB_XTASK="$xtask" \
    sbatch --parsable --chdir="$shared" --array=0 scripts/slurm/reproduce.sbatch \
    --profile smoke --study "$study")
killed="${killed%%;*}"
jobs_submitted+=("$killed")
deadline=$((SECONDS + timeout))
until ls "$shared"/shard-0/runs/*.h5 >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "shard 0 stored nothing in $timeout s"
    [ -n "$(squeue -h -j "$killed" -o %i 2>/dev/null)" ] || break
    sleep 0.05
done
scancel --signal=KILL --full "$killed" 2>/dev/null || true
wait_jobs "$killed"
stored=$(run_ids "$shared/shard-0" | wc -l)
others=$(for ((i = 1; i < shards; i++)); do run_ids "$shared/shard-$i"; done | wc -l)
expected=$(($(run_ids "$tmp/single" | wc -l) - others))
echo "slurm test: shard 0 killed ($(job_state "$killed")) with $stored of its $expected runs stored"
read -r resubmit merge < <(INITLAB_TASKS=0 scripts/slurm/submit.sh "$shared" "$shards" --profile smoke --study "$study" 2>"$tmp/submit.err") \
    || fail "submit.sh: $(cat "$tmp/submit.err")"
jobs_submitted+=("$resubmit" "$merge")
wait_jobs "$resubmit" "$merge"
[ "$(job_state "$merge")" = COMPLETED ] \
    || fail "merge job $merge after the resubmission: $(job_state "$merge"): $(tail -n 3 "$shared"/initlab-*.out)"
sed -n 's/^\(.*skipped;\).*/slurm test: resubmitted shard: \1/p' "$shared/initlab-shard-${resubmit}_0.out"
same_store "$tmp/single" "$shared/merged"

echo "slurm test: passed in $((SECONDS - started)) s"
