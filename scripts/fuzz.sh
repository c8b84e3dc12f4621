#!/usr/bin/env bash
# Fuzzes corpus ingestion (CSV, TSV, JSONL bytes) and targets files with random cases for
# SECONDS (default 60) per input kind, then prints how many ran. Not part of CI: `cargo test`
# runs a fixed-seed sample of the same harness (tests/fuzz.rs).
#   bash scripts/fuzz.sh 300
set -euo pipefail
cd "$(dirname "$0")/.."
STANCE_FUZZ_SECONDS="${1:-60}" cargo test --release --test fuzz -- --ignored --nocapture fuzz_for_a_while
