#!/usr/bin/env bash
# Side-by-side CPU benchmark of stance against PyTorch and the transformers zero-shot pipeline
# (issue 6). Not part of CI. Usage: bash scripts/bench/run.sh
# Environment: REPEATS (alternating rounds, default 3), THREADS (default 2), PAIRS (forward
# workload size, default 512), E2E_STATEMENTS (end-to-end corpus size, default 320),
# MODELS (default "bert deberta"), BENCH_PYTHON (a Python with torch 2.4.0 and transformers
# 4.46.3; default: .venv-bench, or the fixtures' .venv or /work/pyref/venv when they have those
# pins, else .venv-bench made here from PyPI), BENCH_OUT (default BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

pinned() {
    "$1" -c 'import torch, transformers, sentencepiece, google.protobuf as p
assert torch.__version__.split("+")[0] == "2.4.0" and transformers.__version__ == "4.46.3"' 2>/dev/null
}
if [ -z "${BENCH_PYTHON:-}" ]; then
    if [ -x .venv-bench/bin/python ] && pinned .venv-bench/bin/python; then
        BENCH_PYTHON=.venv-bench/bin/python
    elif [ -x .venv/bin/python ] && pinned .venv/bin/python; then
        BENCH_PYTHON=.venv/bin/python
    elif [ -x /work/pyref/venv/bin/python ] && pinned /work/pyref/venv/bin/python; then
        BENCH_PYTHON=/work/pyref/venv/bin/python
    else
        python3 -m venv .venv-bench
        .venv-bench/bin/pip install --quiet --disable-pip-version-check \
            torch==2.4.0 transformers==4.46.3 sentencepiece==0.2.0 protobuf==5.29.3 numpy==2.1.3
        BENCH_PYTHON=.venv-bench/bin/python
    fi
fi
export BENCH_PYTHON

bash scripts/fetch-minilm.sh
"$BENCH_PYTHON" scripts/bench/make_workload.py

cargo build --release --bin stance --example forward_bench
target_dir=${CARGO_TARGET_DIR:-target}
# Private copies: a shared target directory may be rebuilt by someone else mid-run.
mkdir -p .cache/bench/bin
cp "$target_dir/release/stance" "$target_dir/release/examples/forward_bench" .cache/bench/bin/

"$BENCH_PYTHON" scripts/bench/bench.py
