#!/usr/bin/env bash
# Regenerates the README's chart (docs/demo-peace-negotiations.svg) from a fresh demo run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bash scripts/demo.sh "$out" >/dev/null
cp "$out/peace_negotiations.svg" docs/demo-peace-negotiations.svg
echo "updated docs/demo-peace-negotiations.svg" >&2
