#!/usr/bin/env bash
# What CPUs with fewer instruction sets get: the forward pass of the benchmark models (made by
# scripts/bench/run.sh) in f32 and int8 with the kernels capped by STANCE_CPU_LEVEL. Not part
# of CI. Usage: bash scripts/bench/cpu_levels.sh [PAIRS (default 128)] [LEVELS (default
# "avx512 avx2 baseline")]. Prints a markdown table: pairs/s (median of REPEATS, default 3)
# and int8's ratio to f32 at the same level.
set -euo pipefail
cd "$(dirname "$0")/../.."
pairs=${1:-128}
levels=${2:-avx512 avx2 baseline}
repeats=${REPEATS:-3}
cargo build --release --example forward_bench
bench=${CARGO_TARGET_DIR:-target}/release/examples/forward_bench
work=.cache/bench/cpu-levels
mkdir -p "$work"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bash scripts/bench/cpu.sh
printf '| model | level | f32 pairs/s | int8 pairs/s | int8 / f32 |\n|---|---|---|---|---|\n'
for model in bert deberta; do
    tokens=$work/$model-$pairs.json
    python3 - ".cache/bench/$model/pairs-tokens.json" "$pairs" "$tokens" <<'PY'
import json, sys
source, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = json.load(open(source))
data["rows"] = data["rows"][:n]
json.dump(data, open(out, "w"))
PY
    for level in $levels; do
        declare -A rate=()
        for dtype in f32 int8; do
            # The portable int8 kernel is ~20× slower than f32: one repeat says enough.
            n=$repeats; [ "$level/$dtype" = baseline/int8 ] && n=1
            rate[$dtype]=$(STANCE_CPU_LEVEL=$level "$bench" ".cache/bench/$model" "$tokens" --dtype "$dtype" \
                --repeats "$n" | python3 -c 'import json, sys; [print(json.loads(l)["pairs_per_s"]) for l in sys.stdin]' | median)
        done
        printf '| %s | %s | %.2f | %.2f | %.2f× |\n' "$model" "$level" "${rate[f32]}" "${rate[int8]}" \
            "$(python3 -c "print(${rate[int8]} / ${rate[f32]})")"
    done
done
