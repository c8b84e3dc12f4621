"""Our linear-layer kernels against PyTorch's (MKL/oneDNN sgemm) at BERT-base's three shapes, one
and two threads, alternating the two systems round by round so that machine load hits both
alike; prints a markdown table with the CPU line (issue 16.2: "≥ 90% of the same run's sgemm"),
and both against the CPU's multiply-add peak on the same threads (what `linear_bench` measures
first): how much any code could still gain.
Not part of CI. Usage, after `cargo build --release --example linear_bench`:
    BENCH_PYTHON=.venv/bin/python python3 scripts/bench/kernels.py [ROUNDS]
Each figure is the best of its rounds (other processes only ever slow a run down)."""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = os.environ.get("BENCH_PYTHON", sys.executable)
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
ROWS, REPEATS = 1472, 9
BENCH = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "examples",
                     "linear_bench")


def run(cmd, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), BENCH_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout


def main():
    cpu = subprocess.run(["bash", "scripts/bench/cpu.sh"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    best = {}
    for _ in range(ROUNDS):
        for threads in (1, 2):
            ours = run([BENCH, "--best", "--repeats", str(REPEATS), "--rows", str(ROWS)], threads)
            peak = float(re.search(r"FMA peak: ([\d.]+) GFLOP/s", ours).group(1))
            best[("peak", threads)] = max(best.get(("peak", threads), 0.0), peak)
            for inputs, outputs, f32, int8 in re.findall(r"\| (\d+) → (\d+) \| \d+ \| ([\d.]+) \| ([\d.]+) \|", ours):
                shape = f"{inputs}->{outputs}"
                for name, value in (("f32", f32), ("int8", int8)):
                    key = (shape, threads, name)
                    best[key] = max(best.get(key, 0.0), float(value))
            theirs = json.loads(run([PY, "scripts/bench/torch_bench.py", "linear", str(ROWS), str(REPEATS)], threads))
            for shape, value in theirs.items():
                best[(shape, threads, "torch")] = max(best.get((shape, threads, "torch"), 0.0), value)
    print(cpu)
    print(f"\n{ROWS} rows, best of {ROUNDS} rounds × {REPEATS} repeats, GFLOP/s.\n")
    print("FMA peak, GFLOP/s: " + ", ".join(f"{best[('peak', t)]:.1f} on {t} thread{'s' * (t > 1)}" for t in (1, 2)) + ".\n")
    print("| in → out | threads | stance f32 | PyTorch fp32 | stance / PyTorch | stance / peak | PyTorch / peak "
          "| stance int8 |")
    print("|---|---|---|---|---|---|---|---|")
    for threads in (1, 2):
        peak = best[("peak", threads)]
        for shape in ("768->768", "768->3072", "3072->768"):
            f32, torch_, int8 = (best[(shape, threads, name)] for name in ("f32", "torch", "int8"))
            print(f"| {shape.replace('->', ' → ')} | {threads} | {f32:.1f} | {torch_:.1f} | {f32 / torch_:.0%} "
                  f"| {f32 / peak:.0%} | {torch_ / peak:.0%} | {int8:.1f} |")


if __name__ == "__main__":
    main()
