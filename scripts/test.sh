#!/usr/bin/env bash
# The whole test suite: Rust unit, parity, real-model and CLI tests, then the notebook
# executed headless on a fresh demo run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-minilm.sh
cargo test --release --locked
demo=$(mktemp -d)
trap 'rm -rf "$demo"' EXIT
bash scripts/demo.sh "$demo" >/dev/null
bash scripts/test-notebook.sh "$demo"
