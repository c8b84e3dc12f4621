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
# The kernel tests run every CPU kernel this machine has; say which ones that was.
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2-) "
has() { [[ "$flags" == *" $1 "* ]]; }
tested=() untested=()
for kernel in "f32 AVX-512:avx512f" "f32 AVX2+FMA:avx2 fma" "int8 AVX-512 VNNI:avx512f avx512_vnni" "int8 AVX2:avx2"; do
    name=${kernel%%:*} ok=yes
    for flag in ${kernel#*:}; do has "$flag" || ok=; done
    if [ -n "$ok" ]; then tested+=("$name"); else untested+=("$name"); fi
done
echo "$(bash scripts/bench/cpu.sh): kernels tested: ${tested[*]/%/,} portable; not tested here (CPU lacks them): ${untested[*]:-none}"
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "stance: %d passed, %d failed\n", passed + 2, failed }' "$log"
