"""LLM side-by-side benchmark, PyTorch side (`--method llm`, see BENCHMARKS.md).

make                  writes a random-weight Qwen2 model of Qwen2.5-0.5B-Instruct's shape (24 layers,
                      hidden 896, 14 query / 2 key-value heads, vocab 151936, tied embeddings) to
                      .cache/models/qwen2.5-0.5b-shape/, with the tokenizer and ChatML template of
                      tests/fixtures/models/qwen2 (its token ids are all below 643: a valid subset
                      of the vocabulary), unless it is there already.
prompts N OUT         renders the built-in prompt for the first N statements of
                      corpus/statements.csv × the two targets below with `apply_chat_template`,
                      and writes their token ids and label tokens to OUT (JSON), for
                      examples/llm_bench.rs.
time PROMPTS OUT      transformers on those prompts: length-sorted batches of 8, left-padded,
                      `num_logits_to_keep=1`, inference_mode, after one untimed warm-up batch;
                      prints one JSON line (pairs/s) and writes the renormalised label
                      probabilities to OUT (input order) for the cross-check.

Threads: BENCH_THREADS (default 2).
"""
import csv
import json
import os
import shutil
import sys
import time
from pathlib import Path

import torch

torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / ".cache" / "models" / "qwen2.5-0.5b-shape"
FIXTURE = ROOT / "tests" / "fixtures" / "models" / "qwen2"
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from make_llm_fixtures import DEFAULT_PROMPT, LABELS, user_message  # noqa: E402

TARGETS = ["peace negotiations", "sanctions on Russia"]
BATCH = 8


def make():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    if (FOLDER / "model.safetensors").is_file():
        return
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=151936,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
    )
    model = Qwen2ForCausalLM(config).eval()
    model.save_pretrained(FOLDER, safe_serialization=True)
    for file in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(FIXTURE / file, FOLDER / file)


def prompts(n, out):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(FOLDER)
    with open(ROOT / "corpus" / "statements.csv", newline="", encoding="utf-8") as f:
        statements = [row["text"] for row in csv.DictReader(f)][:n]
    rows = []
    for target in TARGETS:
        for statement in statements:
            messages = [{"role": "user", "content": user_message(target, statement)}]
            rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = tokenizer(rendered, add_special_tokens=False)["input_ids"]
            labels = [tokenizer(rendered + label, add_special_tokens=False)["input_ids"][len(ids)] for label in LABELS]
            rows.append({"target": target, "statement": statement, "input_ids": ids, "labels": labels})
    Path(out).write_text(json.dumps({"prompt": DEFAULT_PROMPT, "rows": rows}))


def timed(path, out):
    from transformers import AutoModelForCausalLM

    rows = json.loads(Path(path).read_text())["rows"]
    model = AutoModelForCausalLM.from_pretrained(FOLDER, torch_dtype=torch.float32).eval()
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
    groups = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]

    def run(group):
        width = max(len(rows[i]["input_ids"]) for i in group)
        ids = torch.zeros((len(group), width), dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for r, i in enumerate(group):
            tokens = rows[i]["input_ids"]
            ids[r, width - len(tokens) :] = torch.tensor(tokens)
            mask[r, width - len(tokens) :] = 1
        return model(input_ids=ids, attention_mask=mask, num_logits_to_keep=1).logits[:, -1]

    probs = [None] * len(rows)
    with torch.inference_mode():
        run(groups[0])
        start = time.perf_counter()
        for group in groups:
            logits = run(group)
            for r, i in enumerate(group):
                picked = logits[r, rows[i]["labels"]].double()
                probs[i] = torch.softmax(picked, dim=-1).tolist()
        seconds = time.perf_counter() - start
    print(json.dumps({"system": "transformers", "pairs": len(rows), "seconds": seconds, "pairs_per_s": len(rows) / seconds}))
    Path(out).write_text(json.dumps(probs))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "make":
        make()
    elif mode == "prompts":
        prompts(int(sys.argv[2]), sys.argv[3])
    elif mode == "time":
        timed(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
