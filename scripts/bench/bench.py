"""Runs the systems alternately (one invocation of each per round, so machine load hits all of
them alike), then prints the table and writes BENCHMARKS.md. Called by run.sh."""
import csv
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, ".cache", "bench")
PY = os.environ["BENCH_PYTHON"]
REPEATS = int(os.environ.get("REPEATS", "3"))
THREADS = os.environ.get("THREADS", "2")
PAIRS = int(os.environ.get("PAIRS", "512"))
E2E = int(os.environ.get("E2E_STATEMENTS", "320"))
MODELS = os.environ.get("MODELS", "bert deberta").split()
BASELINE = os.environ.get("BASELINE_FORWARD")  # an older forward_bench binary to compare with
OUT = os.environ.get("BENCH_OUT", os.path.join(ROOT, "BENCHMARKS.md"))
ENV = dict(os.environ, RAYON_NUM_THREADS=THREADS, BENCH_THREADS=THREADS, OMP_NUM_THREADS=THREADS,
           TOKENIZERS_PARALLELISM="false")
WORK = os.path.join(BENCH, "run")


def load_avg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def timed(cmd):
    """Runs cmd under /usr/bin/time -v: (stdout, peak RSS in MiB)."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], env=ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024
    return proc.stdout, rss


def subset_tokens(model):
    with open(os.path.join(BENCH, model, "pairs-tokens.json")) as f:
        spec = json.load(f)
    spec["rows"] = spec["rows"][:PAIRS]
    folder = os.path.join(WORK, model)
    os.makedirs(folder, exist_ok=True)
    # torch_bench reads pairs-tokens.json next to a model: link the model files beside it.
    for name in os.listdir(os.path.join(BENCH, model)):
        if name != "pairs-tokens.json" and not os.path.exists(os.path.join(folder, name)):
            os.symlink(os.path.join(BENCH, model, name), os.path.join(folder, name))
    with open(os.path.join(folder, "pairs-tokens.json"), "w") as f:
        json.dump(spec, f)
    return folder, spec


def subset_corpus():
    path = os.path.join(WORK, "e2e.csv")
    with open(os.path.join(BENCH, "e2e.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows[: E2E + 1])
    return path


def flops(spec, padded, first_only, layers=12, hidden=768, ffn=3072, batch=32):
    """Matrix-product FLOPs (linear layers, QK and PV) of the length-sorted batches, padded (what
    PyTorch computes) or of the real tokens only; with `first_only`, the last layer computes only
    the first position's row apart from every token's keys and values (what stance computes)."""
    lengths = sorted(len(r["input_ids"]) for r in spec["rows"])
    total = 0
    for start in range(0, len(lengths), batch):
        chunk = lengths[start:start + batch]
        for seq in [max(chunk)] * len(chunk) if padded else chunk:
            layer = 2 * seq * (4 * hidden * hidden + 2 * hidden * ffn) + 4 * seq * seq * hidden
            last = layer if not first_only else 2 * seq * 2 * hidden * hidden + 2 * (2 * hidden * hidden + 2 * hidden * ffn) + 4 * seq * hidden
            total += (layers - 1) * layer + last
    return total


def main():
    os.makedirs(WORK, exist_ok=True)
    corpus = subset_corpus()
    stance = os.path.join(BENCH, "bin", "stance")
    forward = os.path.join(BENCH, "bin", "forward_bench")
    loads = [load_avg()]
    sgemm = []
    results = {}
    for model in MODELS:
        folder, spec = subset_tokens(model)
        tokens = os.path.join(folder, "pairs-tokens.json")
        forward_cmd = lambda binary, dtype: [binary, folder, tokens, "--batch", "32", "--dtype", dtype,
                                             "--logits-out", os.path.join(WORK, f"{model}-logits-{dtype}.json")]
        systems = {
            "PyTorch raw model (sorted batches)": ("forward", [PY, "scripts/bench/torch_bench.py", "forward", folder, "1"]),
            "stance forward (Backend::logits)": ("forward", forward_cmd(forward, "f32")),
            "stance forward, --dtype int8": ("forward", forward_cmd(forward, "int8")),
            "HF zero-shot pipeline, end to end": ("e2e", [PY, "scripts/bench/torch_bench.py", "pipeline", folder, corpus]),
            "stance score, end to end": ("e2e", "f32"),
            "stance score --dtype int8, end to end": ("e2e", "int8"),
        }
        if BASELINE:
            systems["stance forward, baseline build"] = ("forward", forward_cmd(BASELINE, "f32"))
        for round_ in range(REPEATS):
            sgemm.append(json.loads(timed([PY, "scripts/bench/torch_bench.py", "sgemm"])[0])["sgemm_gflops"])
            for name, (kind, cmd) in systems.items():
                if kind == "e2e" and isinstance(cmd, str):
                    out = os.path.join(WORK, f"{model}-scores-{cmd}.csv")
                    cmd = [stance, "score", corpus, "--targets", "corpus/targets.toml", "--model", folder,
                           "--threads", THREADS, "--batch-size", "32", "--dtype", cmd, "--out", out, "-q",
                           "--no-cache"]
                    start = datetime.datetime.now()
                    _, rss = timed(cmd)
                    seconds = (datetime.datetime.now() - start).total_seconds()
                    record = {"seconds": seconds, "statements_per_s": E2E / seconds, "pairs_per_s": E2E * 9 / seconds}
                else:
                    stdout, rss = timed(cmd)
                    record = json.loads(stdout.strip().splitlines()[-1])
                record["rss"] = rss
                results.setdefault((model, name), []).append(record)
                print(model, name, f"round {round_}", json.dumps(record), flush=True)
            loads.append(load_avg())
        results[(model, "flops")] = {"padded": flops(spec, True, False), "real": flops(spec, False, False),
                                     "stance": flops(spec, False, True)}
        results[(model, "agreement")] = agreement(model)
    write(results, sgemm, loads)


def softmax(row):
    top = max(row)
    exps = [pow(2.718281828459045, x - top) for x in row]
    return [e / sum(exps) for e in exps]


def agreement(model):
    """int8 against f32 on the same inputs: argmax agreement and the largest probability change,
    for the forward pass (softmax of the NLI logits) and end to end (the stance table)."""
    def load(dtype):
        with open(os.path.join(WORK, f"{model}-logits-{dtype}.json")) as f:
            return [softmax(row) for row in json.load(f)]
    f32, int8 = load("f32"), load("int8")
    argmax = lambda p: max(range(len(p)), key=p.__getitem__)
    forward = (sum(argmax(a) == argmax(b) for a, b in zip(f32, int8)) / len(f32),
               max(abs(x - y) for a, b in zip(f32, int8) for x, y in zip(a, b)), len(f32))
    def table(dtype):
        with open(os.path.join(WORK, f"{model}-scores-{dtype}.csv"), newline="", encoding="utf-8") as f:
            return {(r["id"], r["target"]): r for r in csv.DictReader(f)}
    a, b = table("f32"), table("int8")
    keys = sorted(a)
    e2e = (sum(a[k]["label"] == b[k]["label"] for k in keys) / len(keys),
           max(abs(float(a[k][c]) - float(b[k][c])) for k in keys for c in ("p_favor", "p_against", "p_none")),
           len(keys))
    return {"forward": forward, "e2e": e2e}


def write(results, sgemm, loads):
    gemm = statistics.median(sgemm)
    lines = []
    for model in MODELS:
        med = {name: {k: statistics.median(r[k] for r in runs) for k in ("pairs_per_s", "rss")}
               | ({"statements_per_s": statistics.median(r["statements_per_s"] for r in runs)} if "statements_per_s" in runs[0] else {})
               for (m, name), runs in results.items() if m == model and name not in ("flops", "agreement")}
        torch_pps = med["PyTorch raw model (sorted batches)"]["pairs_per_s"]
        pipe_sps = med["HF zero-shot pipeline, end to end"]["statements_per_s"]
        work = results[(model, "flops")]
        padding = 1 - work["real"] / work["padded"]
        lines.append(f"\n### {'BERT-base' if model == 'bert' else 'DeBERTa-v3-base'} ({PAIRS} pairs, {E2E} statements × 3 targets)\n")
        lines.append(f"Padding: the sorted batches' matrix products are {100 * padding:.0f}% padding work.\n")
        lines.append("| system | pairs/s (median) | statements/s (median) | vs PyTorch raw | vs HF pipeline | GFLOP/s (% of sgemm) | peak RSS MiB | runs |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for name, m in med.items():
            pps = m["pairs_per_s"]
            sps = m.get("statements_per_s")
            forward_kind = "statements_per_s" not in m
            gflop = work["padded" if name.startswith("PyTorch") else "stance"] / 1e9 / PAIRS
            gf = f"{pps * gflop:.1f} ({100 * pps * gflop / gemm:.0f}%)" if forward_kind else "–"
            vs_torch = f"{pps / torch_pps:.2f}×" if forward_kind else "–"
            vs_pipe = f"{sps / pipe_sps:.2f}×" if sps else "–"
            runs = ", ".join(f"{r['pairs_per_s']:.2f}" for r in results[(model, name)])
            lines.append(f"| {name} | {pps:.2f} | {sps:.2f} | {vs_torch} | {vs_pipe} | {gf} | {m['rss']:.0f} | {runs} |"
                         if sps else f"| {name} | {pps:.2f} | – | {vs_torch} | {vs_pipe} | {gf} | {m['rss']:.0f} | {runs} |")
        agree = results[(model, "agreement")]
        lines.append("")
        for what, (share, worst, n) in agree.items():
            label = "NLI argmax over the forward pairs" if what == "forward" else "stance labels of the end-to-end table"
            lines.append(f"- int8 vs f32, {label}: {100 * share:.1f}% agree ({n} rows); largest probability change {worst:.3f}.")
    table = "\n".join(lines)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    # The systems themselves keep THREADS cores busy; more than that is someone else.
    loaded = max(l[0] for l in loads) > int(THREADS) + 1.0
    header = (
        f"# Benchmarks\n\nTaken {datetime.date.today().isoformat()} on {cpu}, {os.cpu_count()} cores, "
        f"{THREADS} threads per system, with `bash scripts/bench/run.sh` "
        f"(REPEATS={REPEATS} PAIRS={PAIRS} E2E_STATEMENTS={E2E}). Random-weight models of real size "
        "(BERT-base; DeBERTa-v3-base), batch 32, length-sorted; f32 unless a row says int8.\n\n"
        f"- sgemm at (1472×768)·(768×3072), torch, {THREADS} threads: median {gemm:.1f} GFLOP/s "
        f"(runs: {', '.join(f'{g:.0f}' for g in sgemm)}).\n"
        f"- Load averages (1/5/15 min) before and after each round: "
        f"{'; '.join('/'.join(f'{x:.1f}' for x in l) for l in loads)}.\n"
        + ("- **Taken under load**: other processes were using the CPUs, so absolute numbers are low and "
           "noisy; the systems ran alternately, one invocation each per round, so the ratios are the "
           "meaningful part.\n" if loaded else "")
        + "- GFLOP/s of the forward rows: matrix-product FLOPs of the work each system does ÷ time: "
        "PyTorch computes the padded batches, stance only the real tokens, and in the last layer only "
        "the first position apart from keys and values (DeBERTa's c2p/p2c products "
        "not counted). End-to-end rows count everything: start, load, "
        "tokenization, batching, output; statements/s = statements scored against all 3 targets "
        "(9 NLI pairs each) per second.\n"
    )
    with open(OUT, "w") as f:
        f.write(header + table + "\n")
    print(header + table)


if __name__ == "__main__":
    main()
