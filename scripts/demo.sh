#!/usr/bin/env bash
# Sets up and runs the main job on the demo corpus with the real all-MiniLM-L6-v2 model:
# score -> trend -> shift -> compare -> plot, into demo-output/ (or the folder given as $1);
# then news -> statements -> scores: quotes extracted from illustrative articles and scored.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo-output}
bash scripts/fetch-minilm.sh
cargo build --release --locked --quiet
stance=target/release/stance
mkdir -p "$out"
model=.cache/models/all-MiniLM-L6-v2
$stance score corpus/statements.csv --targets corpus/targets.toml --model "$model" --out "$out/scores.parquet"
$stance trend "$out/scores.parquet" --period month --out "$out/trends.parquet"
$stance shift "$out/scores.parquet" --out "$out/shifts.parquet"
$stance compare "$out/scores.parquet" --target "peace negotiations" --actors "Kremlin,White House,Ukrainian President's Office" --period month --out "$out/compare.parquet"
actors="Kremlin,White House,Ukrainian President's Office"
for ext in svg png; do
  $stance plot "$out/trends.parquet" --target "peace negotiations" --actors "$actors" \
    --shifts "$out/shifts.parquet" --out "$out/peace_negotiations.$ext"
done
$stance show "$out/shifts.parquet"
$stance extract corpus/articles.ndjson --actors corpus/actors.toml --attributed-only --out "$out/statements.parquet"
$stance score "$out/statements.parquet" --targets corpus/targets.toml --model "$model" --out "$out/news-scores.parquet"
$stance show "$out/news-scores.parquet" --rows 6
echo "demo outputs in $out/" >&2
