#!/usr/bin/env bash
# Prints the line every benchmark table carries: the CPU's model name and which of the flags
# that choose kernels (ours and PyTorch's) it has. Usage: bash scripts/bench/cpu.sh
set -euo pipefail
name=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2-)
have=()
for flag in avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_int8; do
    [[ " $flags " == *" $flag "* ]] && have+=("$flag")
done
echo "CPU: ${name:-$(uname -m)}; flags: ${have[*]:-none of avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_int8}; $(nproc) cores"
