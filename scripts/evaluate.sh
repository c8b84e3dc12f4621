#!/usr/bin/env bash
# Benchmarks all-MiniLM-L6-v2 on public stance data (not part of CI): trains a stance head on
# SemEval-2016 Task 6 (Task A) and on P-Stance, evaluates it on their test sets, evaluates
# zero-shot prototype scoring on both, and writes EVALUATION.md.
#
#   bash scripts/evaluate.sh [OUTPUT_DIR]        (default: eval-output/)
#
# The datasets are read where they lie, never copied: STANCE_DATASETS (default
# ../shared/datasets next to the repository) must hold semeval2016_task6/ and pstance/ as
# described in their SOURCE.txt. STANCE_BIN runs a given binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
data=${STANCE_DATASETS:-$repo/../shared/datasets}
out=${1:-eval-output}
for file in semeval2016_task6/train_taskA.tsv semeval2016_task6/test_taskA_gold.tsv \
    pstance/raw_train_trump.csv pstance/raw_test_trump.csv; do
    [ -f "$data/$file" ] || { echo "missing $data/$file: set STANCE_DATASETS" >&2; exit 2; }
done
bash scripts/fetch-minilm.sh
if [ -z "${STANCE_BIN:-}" ]; then
    cargo build --release --locked
    STANCE_BIN=${CARGO_TARGET_DIR:-target}/release/stance
fi
model=.cache/models/all-MiniLM-L6-v2
mkdir -p "$out"
log="$out/commands.txt"
: >"$log"

# Runs a stance command, logging it and its wall time.
run() {
    local started=$SECONDS
    echo "stance $*" >>"$log"
    "$STANCE_BIN" "$@"
    echo "  ($((SECONDS - started)) s)" >>"$log"
}

semeval=$data/semeval2016_task6
pstance_train=("$data"/pstance/raw_train_{trump,biden,bernie}.csv)
pstance_test=("$data"/pstance/raw_test_{trump,biden,bernie}.csv)

run train "$semeval/train_taskA.tsv" --model "$model" --out "$out/semeval-head.safetensors" \
    >"$out/semeval-train.txt"
run eval "$semeval/test_taskA_gold.tsv" --model "$model" --head "$out/semeval-head.safetensors" \
    --out "$out/semeval-head.json" >"$out/semeval-head.txt"
run eval "$semeval/test_taskA_gold.tsv" --model "$model" --method embedding \
    --out "$out/semeval-zeroshot.json" >"$out/semeval-zeroshot.txt"

# P-Stance has no `none` class: predictions are restricted to favor and against.
run train "${pstance_train[@]}" --model "$model" --out "$out/pstance-head.safetensors" \
    >"$out/pstance-train.txt"
run eval "${pstance_test[@]}" --model "$model" --head "$out/pstance-head.safetensors" \
    --classes favor,against --out "$out/pstance-head.json" >"$out/pstance-head.txt"
run eval "${pstance_test[@]}" --model "$model" --method embedding \
    --classes favor,against --out "$out/pstance-zeroshot.json" >"$out/pstance-zeroshot.txt"

python3 scripts/evaluation_report.py "$out" >EVALUATION.md
echo "wrote EVALUATION.md and $out/" >&2
