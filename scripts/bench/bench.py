"""Runs the systems alternately (one invocation of each per round, so machine load hits all of
them alike), then prints the table and writes BENCHMARKS.md. Called by run.sh."""
import csv
import datetime
import json
import os
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
# PyTorch's bf16 autocast on a CPU without bf16 instructions runs oneDNN's emulation, ~4× slower
# than fp32 (BERT-base, Intel Xeon Ice Lake): hours of bench time that measure no hardware path.
# BENCH_BF16=1 runs it anyway.
BF16_SKIPPED = "the CPU has neither avx512_bf16 nor amx_bf16 (BENCH_BF16=1 runs PyTorch's emulation)"


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


def subset_tokens(model, source="pairs-tokens.json", limit=PAIRS, name=None):
    """A folder for torch_bench and forward_bench: the model's files linked beside the first
    `limit` rows of its `source` tokens, as pairs-tokens.json."""
    with open(os.path.join(BENCH, model, source)) as f:
        spec = json.load(f)
    spec["rows"] = spec["rows"][:limit]
    folder = os.path.join(WORK, name or model)
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
        torch_cmd = lambda folder, precision: [PY, "scripts/bench/torch_bench.py", "forward", folder, "1", precision]
        systems = {
            "PyTorch raw model (sorted batches)": ("forward", torch_cmd(folder, "fp32")),
            "PyTorch dynamic int8": ("forward", torch_cmd(folder, "int8")),
            "stance forward (Backend::logits)": ("forward", forward_cmd(forward, "f32")),
            "stance forward, --dtype int8": ("forward", forward_cmd(forward, "int8")),
            "HF zero-shot pipeline, end to end": ("e2e", [PY, "scripts/bench/torch_bench.py", "pipeline", folder, corpus]),
            "stance score, end to end": ("e2e", "f32"),
            "stance score --dtype int8, end to end": ("e2e", "int8"),
        }
        if BF16:
            systems["PyTorch bf16 autocast"] = ("forward", torch_cmd(folder, "bf16"))
        if BASELINE:
            systems["stance forward, baseline build"] = ("forward", forward_cmd(BASELINE, "f32"))
        short_folder, short_spec = subset_tokens(model, "short-tokens.json", None, f"{model}-short")
        short_pairs = len(short_spec["rows"])
        for precision in ("fp32", "bf16", "int8") if BF16 else ("fp32", "int8"):
            systems[f"short: PyTorch {precision}"] = ("forward", torch_cmd(short_folder, precision))
        for dtype in ("f32", "int8"):
            systems[f"short: stance score --dtype {dtype}"] = ("short", dtype)
        for round_ in range(REPEATS):
            sgemm.append(json.loads(timed([PY, "scripts/bench/torch_bench.py", "sgemm"])[0])["sgemm_gflops"])
            for name, (kind, cmd) in systems.items():
                if kind == "short":
                    cmd = [stance, "score", os.path.join(BENCH, "short.csv"), "--targets",
                           os.path.join(BENCH, "short-targets.toml"), "--model", folder, "--threads", THREADS,
                           "--batch-size", "32", "--dtype", cmd, "--out", os.path.join(WORK, "short.csv"), "-q",
                           "--no-cache"]
                    start = datetime.datetime.now()
                    _, rss = timed(cmd)
                    record = {"pairs_per_s": short_pairs / (datetime.datetime.now() - start).total_seconds()}
                elif kind == "e2e" and isinstance(cmd, str):
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


def cpu():
    """The CPU's model name and which of the flags that choose kernels (ours and PyTorch's) it
    has, as scripts/bench/cpu.sh prints them for every benchmark table."""
    line = subprocess.run(["bash", os.path.join(ROOT, "scripts", "bench", "cpu.sh")], capture_output=True,
                          text=True, check=True).stdout.strip()
    name, flags, _ = line.removeprefix("CPU: ").rsplit("; ", 2)
    flags = flags.removeprefix("flags: ")
    return name, [] if flags.startswith("none of") else flags.split()


BF16 = os.environ.get("BENCH_BF16") == "1" or bool({"avx512_bf16", "amx_bf16"} & set(cpu()[1]))


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


def write(results, sgemm, loads):
    gemm = statistics.median(sgemm)
    lines = []
    for model in MODELS:
        runs_of = {name: runs for (m, name), runs in results.items() if m == model and name not in ("flops", "agreement")}
        med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0] if k in ("pairs_per_s", "rss", "statements_per_s")}
               for name, runs in runs_of.items()}
        torch_pps = med["PyTorch raw model (sorted batches)"]["pairs_per_s"]
        pipe_sps = med["HF zero-shot pipeline, end to end"]["statements_per_s"]
        work = results[(model, "flops")]
        padding = 1 - work["real"] / work["padded"]
        runs = lambda name: ", ".join(f"{r['pairs_per_s']:.2f}" for r in runs_of[name])
        lines.append(f"\n#### {'BERT-base' if model == 'bert' else 'DeBERTa-v3-base'} ({PAIRS} pairs, {E2E} statements × 3 targets)\n")
        lines.append(f"Padding: the sorted batches' matrix products are {100 * padding:.0f}% padding work.\n")
        lines.append("| system | pairs/s (median) | statements/s (median) | vs PyTorch raw | vs HF pipeline | GFLOP/s (% of sgemm) | peak RSS MiB | runs |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for name, m in med.items():
            if name.startswith("short:"):
                continue
            pps, sps = m["pairs_per_s"], m.get("statements_per_s")
            if sps is None:
                gflop = work["padded" if name.startswith("PyTorch") else "stance"] / 1e9 / PAIRS
                gf, vs_torch = f"{pps * gflop:.1f} ({100 * pps * gflop / gemm:.0f}%)", ratio(pps, torch_pps)
            else:
                gf = vs_torch = "–"
            lines.append(f"| {name} | {pps:.2f} | {f'{sps:.2f}' if sps else '–'} | {vs_torch} | "
                         f"{ratio(sps, pipe_sps) if sps else '–'} | {gf} | {m['rss']:.0f} | {runs(name)} |")
        agree = results[(model, "agreement")]
        lines.append("")
        for what, (share, worst, n) in agree.items():
            label = "NLI argmax over the forward pairs" if what == "forward" else "stance labels of the end-to-end table"
            lines.append(f"- int8 vs f32, {label}: {100 * share:.1f}% agree ({n} rows); largest probability change {worst:.3f}.")
        # The short workload: the peer's forward pass in each mode against stance's whole process.
        peer = {mode: med[f"short: PyTorch {mode}"]["pairs_per_s"] for mode in ("fp32", "bf16", "int8") if f"short: PyTorch {mode}" in med}
        lines.append(f"\nShort, uniform pairs ({model}): 120 one-sentence statements × 3 hypotheses; PyTorch's forward "
                     "pass only, stance's whole process (start, load, tokenization, output).\n")
        lines.append("| mode | PyTorch forward pairs/s | stance score pairs/s | stance / PyTorch | runs (PyTorch; stance) |")
        lines.append("|---|---|---|---|---|")
        for mode, dtype in (("fp32", "f32"), ("bf16", None), ("int8", "int8")):
            if mode not in peer:
                lines.append(f"| {mode} | not run: {BF16_SKIPPED} | – | – | – |")
                continue
            ours = med.get(f"short: stance score --dtype {dtype}", {}).get("pairs_per_s") if dtype else None
            ours_runs = runs(f"short: stance score --dtype {dtype}") if dtype else "no bf16 path"
            lines.append(f"| {mode} | {peer[mode]:.2f} | {f'{ours:.2f}' if ours else '–'} | {ratio(ours, peer[mode])} | "
                         f"{runs(f'short: PyTorch {mode}')}; {ours_runs} |")
    table = "\n".join(lines)
    name, flags = cpu()
    key = f"{name}; {' '.join(flags) or 'no AVX2'}"
    # The systems themselves keep THREADS cores busy; more than that is someone else.
    loaded = max(l[0] for l in loads) > int(THREADS) + 1.0
    body = (
        f"### `scripts/bench/run.sh`, {datetime.date.today().isoformat()}\n\n"
        f"{name}; flags: {', '.join(flags) or 'none of those that choose kernels'}; {os.cpu_count()} cores, "
        f"{THREADS} threads per system. Command: `REPEATS={REPEATS} PAIRS={PAIRS} E2E_STATEMENTS={E2E} "
        f"MODELS=\"{' '.join(MODELS)}\" bash scripts/bench/run.sh`. Random-weight models of real size "
        "(BERT-base; DeBERTa-v3-base), batch 32, length-sorted; f32 unless a row says otherwise.\n\n"
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
    section(OUT, key, body + table + "\n")
    print(body + table)


def section(path, key, text):
    """Puts `text` into BENCHMARKS.md's section for this CPU (`## key`), replacing the table the
    last run on the same CPU wrote there, so that no section mixes machines."""
    begin, end = f"<!-- bench.py: {key} -->", "<!-- /bench.py -->"
    block = f"{begin}\n{text}{end}\n"
    doc = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmarks\n"
    if begin in doc:
        head, rest = doc.split(begin, 1)
        doc = head + block + rest.split(end, 1)[1].lstrip("\n")
    elif f"\n## {key}\n" in doc:
        head, rest = doc.split(f"\n## {key}\n", 1)
        doc = f"{head}\n## {key}\n\n{block}\n{rest.lstrip(chr(10))}"
    else:
        doc = f"{doc.rstrip()}\n\n## {key}\n\n{block}"
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(doc)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
