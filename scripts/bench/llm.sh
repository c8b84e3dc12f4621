#!/usr/bin/env bash
# LLM side-by-side benchmark (BENCHMARKS.md): a random-weight model of Qwen2.5-0.5B-Instruct's
# shape, N statements of corpus/statements.csv × 2 targets with the built-in prompt, batches of 8.
# transformers first, then stance in f32 without and with the prefix cache (checked against
# transformers' probabilities), then q8_0. Usage: bash scripts/bench/llm.sh [N] (default 16).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-/work/main/.venv/bin/python}
n=${1:-16}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --example llm_bench -q
"$python" scripts/bench/llm_bench.py make
"$python" scripts/bench/llm_bench.py prompts "$n" "$work/prompts.json"
model=.cache/models/qwen2.5-0.5b-shape
lscpu | grep -E "Model name|^CPU\(s\)"
uptime
"$python" scripts/bench/llm_bench.py time "$work/prompts.json" "$work/torch-probs.json"
./target/release/examples/llm_bench "$model" "$work/prompts.json" --reference "$work/torch-probs.json"
./target/release/examples/llm_bench "$model" "$work/prompts.json" --dtype q8_0 --reference "$work/torch-probs.json"
uptime
