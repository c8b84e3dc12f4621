#!/usr/bin/env bash
# How `stance shift` scales with a series' length. Not part of CI. Usage:
# bash scripts/bench/shift_scaling.sh [SIZES (default "100000 200000 1000000")] [BASELINE binary]
# Writes one actor × target series of N statements (uniform noise on [-0.5, 0.5], one step of
# +0.4 at 60% for the "one shift" case, none for "no change"), times `stance shift` on each and
# prints a markdown table with the CPU. A BASELINE binary (e.g. an older build) is timed beside,
# up to its TIMEOUT (default 300 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=${1:-100000 200000 1000000}
baseline=${2:-}
limit=${TIMEOUT:-300}
cargo build --release --locked --quiet
stance=${CARGO_TARGET_DIR:-target}/release/stance
work=.cache/bench/shift
mkdir -p "$work"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'); flags: $(grep -o -w -E 'avx2|avx512f|avx512_vnni|avx512_bf16|amx_bf16|amx_int8' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo
bash scripts/bench/cpu.sh
printf '| series | statements | stance shift | baseline | baseline / stance |\n|---|---|---|---|---|\n'
seconds() { # binary, table; prints wall seconds or ">limit"
    local start end
    start=$(date +%s.%N)
    if ! timeout "$limit" "$1" shift "$2" -q --out "$work/out.parquet" >/dev/null; then
        echo ">$limit"
        return
    fi
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l | xargs printf '%.2f'
}
for case in "no change" "one shift"; do
    for n in $sizes; do
        table=$work/${case// /-}-$n.csv
        python3 - "$n" "$case" "$table" <<'PY'
import datetime, random, sys
n, case, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(7)
start = datetime.date(2000, 1, 1)
with open(out, "w") as f:
    f.write("actor,target,date,score\n")
    for i in range(n):
        step = 0.4 if case == "one shift" and i >= 0.6 * n else 0.0
        # Several statements a day, so a million fit in the calendar.
        date = start + datetime.timedelta(days=i // 50)
        f.write(f"kremlin,peace,{date},{rng.uniform(-0.5, 0.5) + step:.6f}\n")
PY
        ours=$(seconds "$stance" "$table")
        if [ -n "$baseline" ]; then
            theirs=$(seconds "$baseline" "$table")
            ratio=$(case $theirs in '>'*) echo ">$(echo "$limit / $ours" | bc -l | xargs printf '%.0f')×";; *) echo "$theirs / $ours" | bc -l | xargs printf '%.1f×';; esac)
        else
            theirs=–
            ratio=–
        fi
        [ "$theirs" = – ] || theirs="$theirs s"
        printf '| %s | %s | %s s | %s | %s |\n' "$case" "$n" "$ours" "$theirs" "$ratio"
    done
done
