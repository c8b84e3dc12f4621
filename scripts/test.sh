#!/usr/bin/env bash
# The whole test suite: Rust unit, parity, real-model, statistics and CLI tests, then the
# notebook executed headless on a fresh demo run. Ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-minilm.sh
log=$(mktemp)
demo=$(mktemp -d)
trap 'rm -rf "$log" "$demo"' EXIT
cargo test --release --locked 2>&1 | tee "$log"
bash scripts/demo.sh "$demo" >/dev/null
bash scripts/test-notebook.sh "$demo"
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "stance: %d passed, %d failed\n", passed + 1, failed }' "$log"
