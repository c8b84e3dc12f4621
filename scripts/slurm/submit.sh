#!/usr/bin/env bash
# Scores CORPUS toward TARGETS with MODEL as a Slurm job array of N shards, then merges them:
#
#   bash scripts/slurm/submit.sh CORPUS TARGETS MODEL OUTDIR N [stance score options…]
#
# writes OUTDIR/shards/shard-K.parquet (K = 0..N-1) and OUTDIR/scores.parquet, and prints the
# two job ids. Extra sbatch options: SBATCH_SCORE_OPTIONS (e.g. "--gres=gpu:1 --partition=gpu"
# with `--device cuda:0` among the stance options) and SBATCH_MERGE_OPTIONS.
# The compute nodes are offline: MODEL must be a folder, or pulled once beforehand into the
# HF_HOME they share (`HF_HOME=/shared/hf stance models pull MODEL` on a login node); this
# script checks that it loads here before submitting anything.
set -euo pipefail
if [ $# -lt 5 ]; then
  echo "usage: bash $0 CORPUS TARGETS MODEL OUTDIR N [stance score options…]" >&2
  exit 1
fi
corpus=$1 targets=$2 model=$3 outdir=$4 shards=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
stance=${STANCE:-stance}
if ! [[ $shards =~ ^[1-9][0-9]*$ ]]; then
  echo "error: N must be a whole number of shards, at least 1 (got \"$shards\")" >&2
  exit 1
fi
for file in "$corpus" "$targets"; do
  [ -f "$file" ] || { echo "error: $file does not exist" >&2; exit 2; }
done
if ! command -v "$stance" >/dev/null; then
  echo "error: no \`$stance\` binary on PATH: cargo install --path . (or set STANCE=/path/to/stance)" >&2
  exit 2
fi
echo "the array's tasks read the model offline from ${HF_HOME:-~/.cache/huggingface} (or its folder): it must be on storage every compute node sees" >&2
if ! "$stance" -q models info "$model" >/dev/null; then
  echo "error: model $model is not available here; pull it once before submitting, into the HF_HOME the compute nodes share:" >&2
  echo "  HF_HOME=/shared/path/hf $stance models pull $model   # then export HF_HOME=/shared/path/hf" >&2
  exit 2
fi
mkdir -p "$outdir/shards"
# shellcheck disable=SC2086 # the option strings are meant to split into words
array=$(sbatch --parsable --array="0-$((shards - 1))" ${SBATCH_SCORE_OPTIONS:-} \
  "$here/score-array.sbatch" "$corpus" "$targets" "$model" "$outdir/shards" "$shards" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes ${SBATCH_MERGE_OPTIONS:-} \
  "$here/merge.sbatch" "$outdir/shards" "$outdir/scores.parquet")
merge=${merge%%;*}
echo "array job $array ($shards shards into $outdir/shards), merge job $merge (into $outdir/scores.parquet)" >&2
echo "$array $merge"
