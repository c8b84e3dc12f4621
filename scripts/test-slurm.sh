#!/usr/bin/env bash
# A real Slurm: brings up a one-node cluster on localhost (munged, slurmctld, slurmd; 2 CPUs;
# everything in a temporary folder, stopped on exit by their own pids), then
#  1. runs `scripts/slurm/submit.sh` (the array of N = 4 shards and the merge chained after it)
#     and checks the merged table equals a single-machine run value for value (as CSV, byte
#     for byte), and that `stance trend` on both agrees;
#  2. cancels one array task mid-run (`scancel <array>_2` once it saved a part), checks that
#     `stance merge` refuses with exit 2 naming shard 2 and `sbatch --array=2`, resubmits that
#     index alone (it resumes its saved parts) and checks the merge is exact again;
#  3. times arrays of N = 1, 2 and 4 shards and the start-up of one task (README "Scaling out").
# Installs Debian's slurm-wlm and munge when missing (needs root and apt-get). When Slurm
# cannot start, it says why and exits non-zero: it never passes without running the jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

fail() {
  echo "test-slurm: FAILED: $*" >&2
  exit 1
}

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    fail "Slurm (slurm-wlm) and munge are not installed, and installing them needs root and apt-get"
  fi
  echo "test-slurm: installing slurm-wlm and munge" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; } >/dev/null ||
    fail "apt-get could not install slurm-wlm and munge"
fi
# slurmd launches jobs as their submitting user and must run as root for that.
[ "$(id -u)" -eq 0 ] || fail "the test cluster's slurmd needs root (SlurmUser=root); run as root"

bash scripts/fetch-minilm.sh
# The binary of this checkout (a no-op when it is up to date).
cargo build --release --locked --quiet
export STANCE=$root/target/release/stance
model=$root/.cache/models/all-MiniLM-L6-v2

work=$(mktemp -d /tmp/stance-slurm.XXXXXX)
# munged refuses a socket folder that other users cannot traverse.
chmod 755 "$work"
stop_daemons() {
  local pidfile pid
  # Jobs first (a failed check can leave tasks running), through this cluster's controller.
  if [ -n "${SLURM_CONF:-}" ] && [ -s "$work/slurmctld.pid" ]; then
    scancel --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 100); do
      squeue -h 2>/dev/null | grep -q . || break
      sleep 0.1
    done
  fi
  for pidfile in slurmd.pid slurmctld.pid munge/munged.pid; do
    pid=$(cat "$work/$pidfile" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pidfile in slurmd.pid slurmctld.pid munge/munged.pid; do
    pid=$(cat "$work/$pidfile" 2>/dev/null || true)
    for _ in $(seq 50); do
      [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done
  rm -rf "$work"
}
trap stop_daemons EXIT
show_logs() {
  for log in "$work"/log/*.log "$work"/munge/munged.log; do
    [ -f "$log" ] && { echo "--- $log" >&2; tail -20 "$log" >&2; }
  done
  return 0
}
cannot_start() {
  show_logs
  fail "the test cluster did not start: $*"
}

# munge: its own key, socket and files, run as the munge user.
mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/log"
chown munge:munge "$work/munge"
chmod 755 "$work/munge"
head -c 1024 /dev/urandom >"$work/munge/munge.key"
chown munge:munge "$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"
runuser -u munge -- munged --socket="$work/munge/munge.socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
  --seed-file="$work/munge/munged.seed" || cannot_start "munged"

node=$(hostname -s)
# Ports away from a real cluster's defaults (6817/6818), varied per run.
port=$((20000 + $$ % 20000))
cat >"$work/slurm.conf" <<EOF
ClusterName=stance-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
KillWait=5
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 RealMemory=2000 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$work/slurm.conf
slurmctld -c -f "$SLURM_CONF" || cannot_start "slurmctld"
slurmd -f "$SLURM_CONF" || cannot_start "slurmd"
for _ in $(seq 150); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
  sleep 0.2
done
[ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || cannot_start "node $node is not idle: $(sinfo -h -o '%T %E' 2>&1)"
echo "test-slurm: cluster up (node $node, 2 CPUs, $work)" >&2

# Waits until job $1 (an array: all its tasks) has left the queue.
wait_gone() {
  for _ in $(seq 3000); do
    squeue -h -j "$1" 2>/dev/null | grep -q . || return 0
    sleep 0.1
  done
  show_logs
  fail "job $1 still queued or running after 5 minutes"
}
# The state of job $1 (every task of an array, one per line).
job_states() {
  scontrol -o show job "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort -u
}

# A corpus big enough that a task runs for seconds: the demo statements, eight times over,
# each copy with its own id and a prefix that makes it a distinct text.
corpus=$work/corpus.csv
python3 - corpus/statements.csv "$corpus" <<'PY'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
    out = csv.DictWriter(f, fieldnames=list(rows[0]))
    out.writeheader()
    for copy in range(8):
        for row in rows:
            out.writerow(dict(row, id=f"{row['id']}-{copy}", text=f"Statement {copy}: {row['text']}"))
PY
targets=$root/corpus/targets.toml
options=(--no-cache --part-size 16)
mkdir -p "$work/logs"
# The templates ask for a real cluster's CPUs and memory; this node has 2 CPUs and 2 GB.
task=(--cpus-per-task=1 --mem=200)
export SBATCH_SCORE_OPTIONS="${task[*]} --output=$work/logs/score-%A_%a.out"
export SBATCH_MERGE_OPTIONS="--mem=200 --output=$work/logs/merge-%j.out"

# Seconds since $1 (from `date +%s%N`).
elapsed() {
  awk -v ns=$(($(date +%s%N) - $1)) 'BEGIN { printf "%.1f", ns / 1e9 }'
}
start=$(date +%s%N)
"$STANCE" -q score "$corpus" --targets "$targets" --model "$model" --threads 2 "${options[@]}" --out "$work/single.parquet"
single_seconds=$(elapsed "$start")
# The same run as CSV, to compare tables byte for byte (repeated runs give the same bits).
"$STANCE" -q score "$corpus" --targets "$targets" --model "$model" --threads 2 "${options[@]}" --out "$work/single.csv"

# 1. One command: the array and the merge after it.
ids=$(bash scripts/slurm/submit.sh "$corpus" "$targets" "$model" "$work/run" 4 "${options[@]}") ||
  fail "scripts/slurm/submit.sh failed"
read -r array merge <<<"$ids"
wait_gone "$merge"
[ "$(job_states "$array")" = COMPLETED ] || fail "array job $array: $(job_states "$array" | tr '\n' ' ')"
[ "$(job_states "$merge")" = COMPLETED ] || fail "merge job $merge: $(job_states "$merge")"
[ -f "$work/run/scores.parquet" ] || fail "the merge job wrote no $work/run/scores.parquet"
"$STANCE" -q merge "$work/run/shards" --out "$work/run/merged.csv"
cmp "$work/single.csv" "$work/run/merged.csv" || fail "the merged table differs from the single-machine run"
"$STANCE" trend "$work/single.parquet" --out "$work/single-trend.csv"
"$STANCE" trend "$work/run/scores.parquet" --out "$work/run/trend.csv"
cmp "$work/single-trend.csv" "$work/run/trend.csv" || fail "trend on the merged table differs"
echo "test-slurm: submit.sh, N = 4: merged table == single-machine table" >&2

# 2. One task cancelled mid-run, then resubmitted alone.
kill_dir=$work/kill
mkdir -p "$kill_dir/logs"
array=$(sbatch --parsable --array=0-3 "${task[@]}" --output="$kill_dir/logs/%A_%a.out" \
  scripts/slurm/score-array.sbatch "$corpus" "$targets" "$model" "$kill_dir/shards" 4 "${options[@]}")
array=${array%%;*}
for _ in $(seq 6000); do
  [ -f "$kill_dir/shards/shard-2.parquet.parts/part-00001.parquet" ] && break
  sleep 0.01
done
[ -f "$kill_dir/shards/shard-2.parquet.parts/part-00001.parquet" ] || fail "task 2 never saved a part"
scancel "${array}_2"
wait_gone "$array"
[ ! -e "$kill_dir/shards/shard-2.parquet" ] || fail "task 2 finished before it was cancelled; nothing was tested"
set +e
refusal=$("$STANCE" -q merge "$kill_dir/shards" --out "$kill_dir/scores.csv" 2>&1)
code=$?
set -e
echo "$refusal" >&2
[ "$code" -eq 2 ] || fail "merge with shard 2 missing exited $code, not 2"
grep -q "shard 2 of 4 is missing" <<<"$refusal" || fail "the refusal does not name shard 2"
grep -q "sbatch --array=2 " <<<"$refusal" || fail "the refusal does not give the sbatch --array list"
[ ! -e "$kill_dir/scores.csv" ] || fail "a refused merge wrote its output"
sbatch --wait --quiet --array=2 "${task[@]}" --output="$kill_dir/logs/resubmitted_%a.out" \
  scripts/slurm/score-array.sbatch "$corpus" "$targets" "$model" "$kill_dir/shards" 4 "${options[@]}" ||
  fail "the resubmitted task failed: $(cat "$kill_dir"/logs/resubmitted_2.out)"
grep -q "resuming: " "$kill_dir/logs/resubmitted_2.out" || fail "the resubmitted task did not resume its saved parts"
"$STANCE" -q merge "$kill_dir/shards" --out "$kill_dir/scores.csv"
cmp "$work/single.csv" "$kill_dir/scores.csv" || fail "the merge after the resubmission differs from the single-machine run"
echo "test-slurm: task 2 cancelled mid-run, resubmitted alone: merge exact again" >&2

# 3. Timings: submission to the last shard written, for N = 1, 2, 4 tasks of 1 CPU each.
timings="single machine, 2 threads: ${single_seconds}s"
for n in 1 2 4; do
  dir=$work/time-$n
  start=$(date +%s%N)
  array=$(sbatch --parsable --array=0-$((n - 1)) "${task[@]}" --output="$dir-%a.out" \
    scripts/slurm/score-array.sbatch "$corpus" "$targets" "$model" "$dir" "$n" "${options[@]}")
  for _ in $(seq 6000); do
    [ "$(find "$dir" -maxdepth 1 -name 'shard-*.parquet' 2>/dev/null | wc -l)" -eq "$n" ] && break
    sleep 0.05
  done
  seconds=$(elapsed "$start")
  wait_gone "${array%%;*}"
  [ "$(find "$dir" -maxdepth 1 -name 'shard-*.parquet' | wc -l)" -eq "$n" ] || fail "N = $n: not every shard was written"
  timings="$timings; N = $n: ${seconds}s"
done
# Start-up of one task: a shard too small to hold any statement (corpus, model, tokenizer, write).
start=$(date +%s%N)
"$STANCE" -q score "$corpus" --targets "$targets" --model "$model" --threads 1 "${options[@]}" \
  --shard 0/1000000 --out "$work/empty-shard.parquet"
timings="$timings; start-up of one task: $(elapsed "$start")s"
echo "test-slurm: 1520 statements × 3 targets; $timings" >&2
echo "test-slurm: passed" >&2
