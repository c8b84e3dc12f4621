#!/usr/bin/env bash
# The whole test suite: Rust unit, parity, real-model, statistics and CLI tests, the notebook
# executed headless on a fresh demo run, then a job array on a real one-node Slurm cluster
# (scripts/test-slurm.sh; needs root, installs slurm-wlm and munge when missing). Ends with one
# "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-minilm.sh
log=$(mktemp)
demo=$(mktemp -d)
trap 'rm -rf "$log" "$demo"' EXIT
cargo test --release --locked 2>&1 | tee "$log"
bash scripts/demo.sh "$demo" >/dev/null
bash scripts/test-notebook.sh "$demo"
bash scripts/test-slurm.sh
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "stance: %d passed, %d failed\n", passed + 2, failed }' "$log"
