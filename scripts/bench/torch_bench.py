"""PyTorch side of the benchmark. Modes:

forward MODEL_DIR REPEATS [PRECISION]
                              raw model on pairs-tokens.json, length-sorted batches of 32,
                              inference_mode, after one untimed warm-up batch; one JSON line
                              per repeat (pairs/s). PRECISION: fp32 (default); bf16 (the same
                              model under torch.autocast("cpu", torch.bfloat16): oneDNN's bf16
                              kernels, AMX or AVX512-BF16 where the CPU has them); int8
                              (torch.ao.quantization.quantize_dynamic on every nn.Linear:
                              int8 weights, activations quantized per batch, fbgemm kernels).
pipeline MODEL_DIR E2E_CSV    the transformers zero-shot-classification pipeline over every
                              statement × target (hypothesis_template "{}"), counting load time;
                              one JSON line (statements/s, pairs/s).
sgemm                         fp32 matmul GFLOP/s at BERT's FFN shape (1472×768)·(768×3072).
linear ROWS REPEATS           fp32 nn.functional.linear (with bias) GFLOP/s at BERT-base's
                              three linear shapes, ROWS rows, best of REPEATS: what
                              examples/linear_bench measures for stance (scripts/bench/kernels.py).
logits MODEL_DIR OUT          fp32 logits of pairs-tokens.json (input order) as JSON.
"""
import contextlib
import csv
import json
import os
import sys
import time
import tomllib

import torch

torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def batches(folder, size=32):
    with open(os.path.join(folder, "pairs-tokens.json")) as f:
        spec = json.load(f)
    rows = spec["rows"]
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
    out = []
    for start in range(0, len(order), size):
        chunk = order[start:start + size]
        width = max(len(rows[i]["input_ids"]) for i in chunk)
        ids = torch.full((len(chunk), width), spec["pad_token_id"], dtype=torch.long)
        types = torch.zeros((len(chunk), width), dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, i in enumerate(chunk):
            n = len(rows[i]["input_ids"])
            ids[r, :n] = torch.tensor(rows[i]["input_ids"])
            types[r, :n] = torch.tensor(rows[i]["type_ids"])
            mask[r, :n] = 1
        out.append((chunk, ids, types, mask))
    return out, len(rows)


def load(folder):
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(folder).eval()


def prepare(model, precision):
    """The model and the context its forward pass runs in, for a PRECISION of forward."""
    if precision == "fp32":
        return model, contextlib.nullcontext
    if precision == "bf16":
        return model, lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    if precision == "int8":
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return quantized, contextlib.nullcontext
    sys.exit(f"unknown precision {precision!r}: expected fp32, bf16 or int8")


def run_forward(model, data, n, context=contextlib.nullcontext):
    logits = [None] * n
    with torch.inference_mode(), context():
        for chunk, ids, types, mask in data:
            out = model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits.float()
            for r, i in enumerate(chunk):
                logits[i] = out[r].tolist()
    return logits


def forward(folder, repeats, precision="fp32"):
    model, context = prepare(load(folder), precision)
    data, n = batches(folder)
    run_forward(model, data[:1], n, context)  # the same untimed warm-up batch stance's forward_bench runs
    for repeat in range(int(repeats)):
        start = time.perf_counter()
        run_forward(model, data, n, context)
        seconds = time.perf_counter() - start
        print(json.dumps({"repeat": repeat, "pairs": n, "seconds": seconds, "pairs_per_s": n / seconds}))


def pipeline(folder, e2e_csv):
    start = time.perf_counter()
    from transformers import pipeline as make_pipeline

    with open(e2e_csv, newline="", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    with open(os.path.join(ROOT, "corpus", "targets.toml"), "rb") as f:
        spec = tomllib.load(f)
    templates = spec.get("templates", {})
    pipe = make_pipeline("zero-shot-classification", model=folder, device=-1)
    pairs = 0
    for target in spec["target"]:
        hyps = [target.get(s, templates[s]).replace("{target}", target["name"]) for s in ("favor", "against", "none")]
        for _ in pipe(texts, candidate_labels=hyps, hypothesis_template="{}", batch_size=32):
            pass
        pairs += len(texts) * len(hyps)
    seconds = time.perf_counter() - start
    print(json.dumps({"statements": len(texts), "targets": len(spec["target"]), "seconds": seconds,
                      "statements_per_s": len(texts) / seconds, "pairs_per_s": pairs / seconds}))


def sgemm():
    a = torch.randn(1472, 768)
    b = torch.randn(768, 3072)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        seconds = (time.perf_counter() - start) / 10
        best = max(best, 2 * 1472 * 768 * 3072 / seconds / 1e9)
    print(json.dumps({"sgemm_gflops": best}))


def linear(rows, repeats):
    rows, repeats = int(rows), int(repeats)
    result = {}
    for inputs, outputs in ((768, 768), (768, 3072), (3072, 768)):
        x, w, b = torch.randn(rows, inputs), torch.randn(outputs, inputs) * 0.05, torch.randn(outputs)
        torch.nn.functional.linear(x, w, b)
        best = 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            torch.nn.functional.linear(x, w, b)
            best = max(best, 2 * rows * inputs * outputs / (time.perf_counter() - start) / 1e9)
        result[f"{inputs}->{outputs}"] = best
    print(json.dumps(result))


def logits(folder, out):
    data, n = batches(folder)
    with open(out, "w") as f:
        json.dump(run_forward(load(folder), data, n), f)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"forward": forward, "pipeline": pipeline, "sgemm": sgemm, "linear": linear, "logits": logits}[mode](*args)
